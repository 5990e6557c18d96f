using InferServe.ModelGen;

namespace InferServe.Cli;

/// <summary>`inferserve convert`: a llama2.c checkpoint to a Hugging Face Llama directory.</summary>
public static class ConvertCommand
{
    public const string Help = """
        inferserve convert --model MODEL.bin --output DIR [--tokenizer TOKENIZER.bin] [--chat-template FILE.jinja]

        Converts a llama2.c checkpoint into a Hugging Face Llama directory that transformers, the hub and InferServe read:
        config.json, generation_config.json, model.safetensors (F32, q/k rows in the Hugging Face RoPE layout),
        tokenizer.json (SentencePiece-style BPE with byte fallback, merges derived from the piece scores as transformers'
        LlamaConverter does) and tokenizer_config.json. The tokenizer and chat_template.jinja are found beside the
        checkpoint unless given. DIR must be new or empty.
        """;

    public static int Run(CommandLine cmd)
    {
        if (cmd.Flag("help"))
        {
            Console.WriteLine(Help);
            return 0;
        }
        var model = cmd.Get("model") ?? throw new UsageException($"--model is required.\n\n{Help}");
        var output = cmd.Get("output") ?? throw new UsageException($"--output is required.\n\n{Help}");
        var tokenizer = cmd.Get("tokenizer");
        var template = cmd.Get("chat-template");
        cmd.RejectUnknown();
        Console.WriteLine(Llama2cToHuggingFace.Convert(model, output, tokenizer, template));
        return 0;
    }
}
