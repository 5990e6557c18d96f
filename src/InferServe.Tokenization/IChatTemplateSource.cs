namespace InferServe.Tokenization;

/// <summary>A tokenizer whose file also carries the model's chat template (GGUF's tokenizer.chat_template).</summary>
public interface IChatTemplateSource
{
    string? ChatTemplate { get; }
}
