using InferServe.Contracts;
using InferServe.Engine.Evaluation;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Models;
using InferServe.TestSupport;
using InferServe.Tokenization;

namespace InferServe.Engine.Tests;

/// <summary>End-to-end behaviour on the real stories260K checkpoint (skipped when ../shared is absent).</summary>
public class Stories260KEngineTests
{
    private static string ModelPath() => Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin");

    [Theory(Timeout = 300_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GreedyGenerationFromBosTellsTheReferenceStory(bool stepGraph)
    {
        await using var engine = Engines.Create(new Engines.Setup(ModelPath: ModelPath(), StepGraph: stepGraph));
        var result = await Engines.RunAsync(engine, new GenerationRequest { PromptTokens = [1], MaxTokens = 40, Sampling = new SamplingParams { Temperature = 0 } });
        Assert.StartsWith("Once upon a time, there was a little girl named Lily.", result[0].Text);
    }

    [Fact]
    public async Task ConcurrentGreedyRequestsMatchSoloRunsOnTheRealModel()
    {
        var tokenizer = TokenizerLoader.Load(Path.Combine(TestPaths.RequireStories260K(), "tok512.bin"));
        var rng = new Random(17);
        var prompts = Enumerable.Range(0, 32).Select(i =>
        {
            var text = QuantizationQuality.Prompts[i % QuantizationQuality.Prompts.Length];
            var ids = tokenizer.Encode(text, addSpecialTokens: true).ToList();
            int target = i == 0 ? 1 : rng.Next(1, 301);
            while (ids.Count < target) ids.AddRange(tokenizer.Encode(" and then " + text, addSpecialTokens: false));
            return ids.Take(target).ToArray();
        }).ToArray();
        GenerationRequest Greedy(int[] p) => new() { PromptTokens = p, MaxTokens = 16, IgnoreEos = true, Sampling = new SamplingParams { Temperature = 0 } };

        await using var alone = Engines.Create(new Engines.Setup(ModelPath: ModelPath()));
        var expected = new List<int[]>();
        foreach (var p in prompts) expected.Add((await Engines.RunAsync(alone, Greedy(p)))[0].Tokens);
        await using var batched = Engines.Create(new Engines.Setup(ModelPath: ModelPath()));
        var actual = await Task.WhenAll(prompts.Select(p => Engines.RunAsync(batched, Greedy(p))));
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(expected[i], actual[i][0].Tokens);
    }

    [Theory]
    [InlineData(KvDType.Fp16, 0.999)]
    [InlineData(KvDType.Int8, 0.99)]
    [InlineData(KvDType.Int4, 0.90)]
    public void QuantizedKvTracksFp32OnTwentyPromptsOfAHundredTokens(KvDType dtype, double minAgreement)
    {
        var dir = TestPaths.RequireStories260K();
        using var ckpt = CheckpointLoader.Open(Path.Combine(dir, "stories260K.bin"));
        var tokenizer = TokenizerLoader.Load(Path.Combine(dir, "tok512.bin"));
        ModelInstance Load(KvDType kv) => new(ckpt, new RunnerOptions { CacheDir = TestPaths.GraphCacheDir, MaxSeqs = 1 }, new KvCacheOptions { DType = kv, MemoryBytes = 8 << 20 });
        using var fp32 = Load(KvDType.Fp32);
        var baseline = QuantizationQuality.Prompts.Select(p => QuantizationQuality.Baseline(fp32, tokenizer.Encode(p), 100)).ToList();
        using var quantized = Load(dtype);
        var report = QuantizationQuality.Compare(dtype.ToString(), quantized, baseline);
        Assert.Equal(2000, report.Positions);
        Assert.True(report.Top1Agreement >= minAgreement, $"{dtype}: top-1 agreement {report.Top1Agreement:P2} < {minAgreement:P0} (KL {report.MeanKlDivergence:E2})");
    }
}
