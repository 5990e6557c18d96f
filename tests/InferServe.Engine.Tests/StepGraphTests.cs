using InferServe.Backend;
using InferServe.Engine.Attention;
using InferServe.Engine.Runner;
using InferServe.ModelGen;
using InferServe.Models;
using InferServe.TestSupport;

namespace InferServe.Engine.Tests;

/// <summary>
/// A step as one ORT run (the whole-step graph with attention as a host custom op) against the per-layer runner:
/// same logits, failures inside the host kernel surface on the caller.
/// </summary>
[Collection(OrtPoolAlone.Name)]
public class StepGraphTests
{
    private const int BlockSize = 16;

    /// <summary>The real stories260K, the generated tiny Llama, and a tiny Qwen2 (QKV bias, untied head).</summary>
    public static TheoryData<string> Models => ["stories260K", "tiny", "tiny-qwen2"];

    private static string ModelPath(string model) => model switch
    {
        "stories260K" => Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin"),
        "tiny-qwen2" => TinyModels.Path(ModelSpec.TinyQwen2),
        _ => TinyModels.Path(ModelSpec.Tiny),
    };

    private static ModelInstance Load(string model, bool stepGraph)
    {
        using var ckpt = CheckpointLoader.Open(ModelPath(model));
        return new ModelInstance(ckpt, new RunnerOptions { CacheDir = TestPaths.GraphCacheDir, MaxBatchTokens = 128, MaxSeqs = 8, StepGraph = stepGraph },
            new KvCacheOptions { BlockSize = BlockSize, MemoryBytes = 8 << 20 });
    }

    /// <summary>One sequence of a hand-built batch: its own KV blocks (the same ids in both instances' caches) and its tokens so far.</summary>
    private sealed record Seq(int[] Blocks, int[] Tokens)
    {
        public int Done;
    }

    /// <summary>Schedules <paramref name="counts"/>[i] new tokens of each sequence into one flattened step; the last row of each wants logits.</summary>
    private static (int[] Tokens, AttentionBatch Batch, int[] LogitRows) Step(Seq[] seqs, int[] counts)
    {
        var tokens = new List<int>();
        var rows = new List<int>();
        var batch = new AttentionBatch(128, 8);
        batch.Clear();
        for (int s = 0; s < seqs.Length; s++)
        {
            if (counts[s] == 0) continue;
            var seq = seqs[s];
            int id = batch.AddSequence(seq.Blocks, seq.Done + counts[s]);
            for (int i = 0; i < counts[s]; i++)
            {
                batch.AddToken(id, seq.Done + i);
                tokens.Add(seq.Tokens[seq.Done + i]);
            }
            rows.Add(tokens.Count - 1);
            seq.Done += counts[s];
        }
        return ([.. tokens], batch, [.. rows]);
    }

    [Theory(Timeout = 300_000)]
    [MemberData(nameof(Models))]
    public void A_mixed_prefill_and_decode_step_gives_the_per_layer_runners_logits(string model)
    {
        using var layers = Load(model, stepGraph: false);
        using var step = Load(model, stepGraph: true);
        Assert.False(layers.Runner.UsesStepGraph);
        Assert.True(step.Runner.UsesStepGraph);
        int vocab = layers.Config.VocabSize;
        Seq[] Sequences() =>
        [
            new([0, 1, 2], Engines.RandomPrompt(41, vocab, 1)),
            new([3, 4], Engines.RandomPrompt(21, vocab, 2)),
            new([5, 6, 7], Engines.RandomPrompt(36, vocab, 3)),
            new([8, 9], Engines.RandomPrompt(32, vocab, 4)),
        ];
        Seq[] a = Sequences(), b = Sequences();

        // Prefill: three whole prompts but their last token, and the first 20 tokens (more than one block) of the fourth.
        int[][] plan = [[40, 20, 35, 20], [1, 1, 1, 12]];
        foreach (var counts in plan)
        {
            // The second step mixes three decode rows (contexts across 2-3 blocks) with the fourth prompt's second chunk.
            var (tokensA, batchA, rowsA) = Step(a, counts);
            var (tokensB, batchB, rowsB) = Step(b, counts);
            var expected = layers.Runner.Forward(tokensA, batchA, layers.Attention, rowsA).ToArray();
            var actual = step.Runner.Forward(tokensB, batchB, step.Attention, rowsB).ToArray();
            AssertClose(expected, actual);

            // Prompt logprobs read more rows of the same step through the head graph.
            int[] more = [0, tokensA.Length / 2, tokensA.Length - 2];
            AssertClose(layers.Runner.HeadLogits(more).ToArray(), step.Runner.HeadLogits(more).ToArray());
        }
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= 1e-5f, $"the step graph's logits differ from the per-layer runner's by up to {worst}");
    }

    [Fact(Timeout = 120_000)]
    public void A_failure_inside_the_host_attention_kernel_is_an_exception_from_forward_and_the_runner_keeps_working()
    {
        using var model = Load("tiny", stepGraph: true);
        var seqs = new[] { new Seq([0, 1], Engines.RandomPrompt(20, model.Config.VocabSize, 5)) };
        var (tokens, batch, rows) = Step(seqs, [20]);

        var error = Assert.Throws<AggregateException>(() => model.Runner.Forward(tokens, batch, new Failing(model.Attention, failLayer: 1), rows));
        Assert.Contains("layer 1 failed", error.InnerException!.Message);

        var inItem = Assert.Throws<AggregateException>(() => model.Runner.Forward(tokens, batch, new FailingItem(model.Runner.HostParallel), rows));
        Assert.Contains("item 3 failed", inItem.ToString());

        var logits = model.Runner.Forward(tokens, batch, model.Attention, rows).ToArray();
        Assert.Equal(model.Config.VocabSize, logits.Length);
        Assert.All(logits, x => Assert.True(float.IsFinite(x)));
    }

    /// <summary>Real attention until <c>failLayer</c>, which throws.</summary>
    private sealed class Failing(IAttentionBackend inner, int failLayer) : IAttentionBackend
    {
        public void Forward(int layer, AttentionBatch batch, Span<float> qkv, Span<float> output)
        {
            if (layer == failLayer) throw new InvalidOperationException($"layer {layer} failed");
            inner.Forward(layer, batch, qkv, output);
        }
    }

    /// <summary>Fans work out on the runner's host pool (ORT's threads, inside the kernel); one item throws.</summary>
    private sealed class FailingItem(IParallelFor parallel) : IAttentionBackend
    {
        public void Forward(int layer, AttentionBatch batch, Span<float> qkv, Span<float> output) =>
            parallel.For(8, i =>
            {
                if (i == 3) throw new InvalidOperationException("item 3 failed");
            });
    }
}
