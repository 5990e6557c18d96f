using System.CommandLine;
using InferServe.Cli.Options;
using InferServe.ModelGen;

namespace InferServe.Cli;

/// <summary>`inferserve convert`: a llama2.c checkpoint to a Hugging Face Llama directory.</summary>
public static class ConvertCommand
{
    private static readonly Option<string?> Model = Opt.Text("--model", "the llama2.c checkpoint (required)", helpName: "MODEL.bin");
    private static readonly Option<string?> Output = Opt.Text("--output", "the new Hugging Face directory; must be new or empty (required)", helpName: "DIR");
    private static readonly Option<string?> Tokenizer = Opt.Text("--tokenizer", "llama2.c tokenizer (default: found beside the checkpoint)", helpName: "TOKENIZER.bin");
    private static readonly Option<string?> ChatTemplate = Opt.Text("--chat-template", "chat template (default: chat_template.jinja beside the checkpoint)", helpName: "FILE.jinja");

    public static Command Create() => Opt.Command("convert", """
            Convert a llama2.c checkpoint into a Hugging Face Llama directory that transformers, the hub and InferServe read:
            config.json, generation_config.json, model.safetensors (F32, q/k rows in the Hugging Face RoPE layout),
            tokenizer.json (SentencePiece-style BPE with byte fallback, merges derived from the piece scores as transformers'
            LlamaConverter does) and tokenizer_config.json.
            """,
        [Model, Output, Tokenizer, ChatTemplate], Run);

    private static int Run(ParseResult p)
    {
        var model = p.GetValue(Model) ?? throw new UsageException("--model is required (the llama2.c checkpoint).");
        var output = p.GetValue(Output) ?? throw new UsageException("--output is required (a new or empty directory).");
        Console.WriteLine(Llama2cToHuggingFace.Convert(model, output, p.GetValue(Tokenizer), p.GetValue(ChatTemplate)));
        return 0;
    }
}
