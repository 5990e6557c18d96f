using InferServe.Engine.Runner;
using InferServe.Engine.Tests.Support;
using InferServe.ModelGen;
using InferServe.Models;
using InferServe.TestSupport;

namespace InferServe.Engine.Tests;

/// <summary>The ORT graphs + paged attention must compute the same logits as the plain reference forward pass.</summary>
public class OrtPathParityTests
{
    public static TheoryData<string> Variants => ["tiny", "tiny-untied", "tiny-qwen2"];

    private static int[] Sequence(int vocab, int length) => Enumerable.Range(0, length).Select(i => (i * 37 + 11) % (vocab - 4)).ToArray();

    [Theory]
    [MemberData(nameof(Variants))]
    public void DecodeAndPrefillLogitsMatchTheReferenceAtEveryPosition(string variant)
    {
        var spec = ModelSpec.ByName(variant);
        using var ckpt = CheckpointLoader.Open(TinyModels.Path(spec));
        var tokens = Sequence(spec.Vocab, 64);
        var expected = new ReferenceForward(ckpt).Logits(tokens);

        using var model = new ModelInstance(ckpt, new RunnerOptions { MaxBatchTokens = 64, MaxSeqs = 64, CacheDir = TestPaths.GraphCacheDir },
            new KvCacheOptions { MemoryBytes = 4 << 20, BlockSize = 16 });
        int v = ckpt.Config.VocabSize;

        // Token by token: the decode path, reading earlier positions back from paged blocks.
        using (var seq = new SequenceRunner(model))
        {
            var decoded = seq.AllLogits(tokens);
            for (int t = 0; t < tokens.Length; t++) AssertClose(expected[t], decoded.AsSpan(t * v, v), t);
        }
        // One chunk: the prefill path, causal within the batch.
        using (var seq = new SequenceRunner(model))
        {
            var prefilled = seq.PrefillAllLogits(tokens);
            for (int t = 0; t < tokens.Length; t++) AssertClose(expected[t], prefilled.AsSpan(t * v, v), t);
        }
        Assert.Equal(model.Kv.Pool.NumBlocks, model.Kv.Pool.FreeCount);
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, int position)
    {
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= 1e-4f, $"Position {position}: max |logit difference| {worst} exceeds 1e-4.");
    }
}
