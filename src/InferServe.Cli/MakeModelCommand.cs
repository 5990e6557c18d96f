using System.CommandLine;
using InferServe.Cli.Options;
using InferServe.ModelGen;

namespace InferServe.Cli;

/// <summary>`inferserve make-model`: a random-weight model with real shapes, for benchmarks and tests.</summary>
public static class MakeModelCommand
{
    private static readonly Option<string?> Shape = Opt.Text("--shape", "tiny, tiny-untied, tiny-qwen2, tiny-h64, smollm2-135m or llama-3.2-1b (required)",
        check: s => ModelSpec.ByName(s), helpName: "NAME");
    private static readonly Option<string?> Output = Opt.Text("--output", "directory to write (default models/generated/NAME)", helpName: "DIR");

    public static Command Create() => Opt.Command("make-model", "Write a random-weight model with real shapes (tiny, smollm2-135m, llama-3.2-1b)", [Shape, Output], Run);

    private static int Run(ParseResult p)
    {
        var spec = ModelSpec.ByName(p.GetValue(Shape) ?? throw new UsageException("--shape is required."));
        var output = p.GetValue(Output) ?? Path.Combine("models", "generated", spec.Name);
        TestModelGenerator.Ensure(spec, output);
        Console.WriteLine(Path.GetFullPath(output));
        return 0;
    }
}
