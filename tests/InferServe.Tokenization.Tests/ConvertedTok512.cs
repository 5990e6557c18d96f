using InferServe.TestSupport;
using InferServe.Tokenization.Llama2c;

namespace InferServe.Tokenization.Tests;

/// <summary>The embedded stories260K tokenizer (models/stories260K/tok512.bin) converted to tokenizer.json once per run.</summary>
internal static class ConvertedTok512
{
    public const string Name = "stories260K-converted";

    public static string BinPath { get; } = Path.Combine(TestPaths.RepoRoot, "models", "stories260K", "tok512.bin");

    private static readonly Lazy<string> Converted = new(() =>
    {
        string dir = Path.Combine(Path.GetTempPath(), $"inferserve-tok512-hf-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(dir);
        var (tokenizer, config) = Llama2cToHfTokenizer.Convert(BinPath, maxLength: 512);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config);
        return dir;
    });

    /// <summary>A directory holding the converted tokenizer.json and tokenizer_config.json.</summary>
    public static string Directory => Converted.Value;
}
