using InferServe.Contracts;
using InferServe.Engine.Attention;
using InferServe.Engine.Kv;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Engine.Tests;

/// <summary>What a request gets does not depend on what else runs beside it, nor on what the prefix cache holds.</summary>
public sealed class EngineInvarianceTests(ITestOutputHelper log)
{
    private static GenerationRequest Greedy(int[] prompt, int maxTokens = 16) => new()
    {
        PromptTokens = prompt,
        MaxTokens = maxTokens,
        IgnoreEos = true,
        Sampling = new SamplingParams { Temperature = 0 },
    };

    /// <summary>tiny-h64: 64-channel heads, so with AVX-512 the quantized KV is read by the block kernels.</summary>
    [Theory(Timeout = 600_000)]
    [InlineData(KvDType.Int8)]
    [InlineData(KvDType.Int4)]
    public async Task Quantized_kv_gives_each_request_the_same_tokens_alone_and_in_a_batch(KvDType dtype)
    {
        var rng = new Random(11);
        var prompts = Enumerable.Range(0, 12).Select(i => Engines.RandomPrompt(i == 0 ? 1 : rng.Next(2, 120), 512, 300 + i)).ToArray();
        var setup = new Engines.Setup(Spec: ModelSpec.TinyH64, KvDType: dtype);

        await using var alone = Engines.Create(setup);
        bool blockKernels = alone.Attention is CpuPagedAttention { UsesBlockKernels: true };
        log.WriteLine(blockKernels
            ? $"{dtype}: the AVX-512 block kernels read the KV cache"
            : $"{dtype}: this machine has no AVX-512; the generic kernel reads the KV cache (the block kernels are not covered here)");
        var expected = new List<int[]>();
        foreach (var p in prompts) expected.Add((await Engines.RunAsync(alone, Greedy(p)))[0].Tokens);

        await using var batched = Engines.Create(setup);
        var results = await Task.WhenAll(prompts.Select(p => Engines.RunAsync(batched, Greedy(p))));
        for (int i = 0; i < prompts.Length; i++)
            Assert.True(expected[i].SequenceEqual(results[i][0].Tokens), $"{dtype}: request {i} ({prompts[i].Length} prompt tokens) diverged in a batch");
        Assert.True(batched.Stats.Steps < alone.Stats.Steps, "the batched run should need fewer steps than one-at-a-time");
        Assert.Equal(batched.Stats.TotalBlocks, batched.Stats.FreeBlocks);
    }

    [Theory(Timeout = 600_000)]
    [InlineData(KvDType.Fp32)]
    [InlineData(KvDType.Int8)]
    public async Task A_warm_prefix_cache_gives_the_same_tokens_as_a_cold_one(KvDType dtype)
    {
        var prompt = Engines.RandomPrompt(100, 512, 77);
        var setup = new Engines.Setup(Spec: ModelSpec.TinyH64, KvDType: dtype);

        await using var cold = Engines.Create(setup);
        var coldTokens = (await Engines.RunAsync(cold, Greedy(prompt, 24)))[0].Tokens;

        await using var warm = Engines.Create(setup);
        await Engines.RunAsync(warm, Greedy(prompt, 24)); // fills the cache
        GenerationUsage? usage = null;
        var warmTokens = new List<int>();
        await foreach (var e in warm.GenerateAsync(Greedy(prompt, 24)))
        {
            warmTokens.AddRange(e.TokenIds);
            usage = e.Usage;
        }
        Assert.Equal(96, usage!.Value.CachedTokens); // six full blocks of 16; the last prompt token is always computed
        Assert.Equal(coldTokens, warmTokens);
    }
}
