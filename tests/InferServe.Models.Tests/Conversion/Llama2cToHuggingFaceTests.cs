using InferServe.Contracts;
using InferServe.Engine;
using InferServe.ModelGen;
using InferServe.Models.Tests.Gguf;
using InferServe.TestSupport;

namespace InferServe.Models.Tests.Conversion;

/// <summary>The embedded stories260K (llama2.c .bin) converted to a Hugging Face directory is the same model.</summary>
public class Llama2cToHuggingFaceTests
{
    private static readonly string Bin = Path.Combine(TestPaths.RepoRoot, "models", "stories260K", "stories260K.bin");

    private static string Convert() =>
        Llama2cToHuggingFace.Convert(Bin, Path.Combine(Path.GetTempPath(), $"inferserve-stories260K-hf-{Environment.ProcessId}-{Guid.NewGuid():N}"));

    [Fact(Timeout = 60_000)]
    public async Task The_directory_has_the_bin_config_and_bit_identical_weights_in_the_hf_layout()
    {
        await Task.Run(() =>
        {
            var dir = Convert();
            Assert.Equal(Llama2cToHuggingFace.Files.Order(), Directory.EnumerateFiles(dir).Select(Path.GetFileName).Order());
            using var bin = CheckpointLoader.Open(Bin);
            using var hf = CheckpointLoader.Open(dir);
            Assert.IsType<HuggingFaceCheckpoint>(hf);
            // generation_config.json adds BOS to the stop tokens: llama2.c models end a story with it.
            Assert.Equal(bin.Config with { Architecture = "LlamaForCausalLM" }, hf.Config with { EosTokenIds = bin.Config.EosTokenIds });
            Assert.Equal([2, 1], hf.Config.EosTokenIds);
            foreach (var name in GgufCheckpointTests.AllNames(bin.Config))
            {
                var expected = bin.Read(name); // q/k rows already permuted to the HF layout by the .bin reader
                var actual = hf.Read(name);
                Assert.Equal(expected.Shape, actual.Shape);
                Assert.True(expected.Data.AsSpan().SequenceEqual(actual.Data), $"{name} differs");
            }
            Assert.Contains("{% for m in messages %}", File.ReadAllText(Path.Combine(dir, "tokenizer_config.json"))); // chat_template.jinja beside the .bin
        });
    }

    [Fact(Timeout = 180_000)]
    public async Task The_directory_generates_the_same_greedy_text_as_the_bin()
    {
        var dir = await Task.Run(Convert);
        await using var binEngine = Engines.Create(new Engines.Setup(ModelPath: Bin));
        await using var hfEngine = Engines.Create(new Engines.Setup(ModelPath: dir));
        // Each engine encodes the prompt with its own tokenizer: tok512.bin, and the converted tokenizer.json.
        GenerationRequest Request(LlmEngine e) => new() { PromptTokens = e.Tokenizer.Encode("Once upon a time"), MaxTokens = 400, Sampling = new SamplingParams { Temperature = 0 } };
        var expected = (await Engines.RunAsync(binEngine, Request(binEngine)))[0];
        var actual = (await Engines.RunAsync(hfEngine, Request(hfEngine)))[0];
        Assert.StartsWith(", there was a little girl named Lily.", actual.Text);
        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Finish, actual.Finish);
    }
}
