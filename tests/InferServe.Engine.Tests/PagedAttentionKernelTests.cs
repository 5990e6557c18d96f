using InferServe.Engine.Attention;
using InferServe.Engine.Kv;
using InferServe.Models;
using InferServe.TestSupport;

namespace InferServe.Engine.Tests;

/// <summary>
/// The block kernels (AVX-512, codes read in place, affine parameters applied after the dot products)
/// compute the same attention as the generic kernel that expands every block to floats first.
/// </summary>
public class PagedAttentionKernelTests
{
    public static TheoryData<KvDType, int, int, int> Shapes => new()
    {
        { KvDType.Fp32, 64, 9, 3 },
        { KvDType.Fp16, 64, 9, 3 },
        { KvDType.Int8, 64, 9, 3 },
        { KvDType.Int4, 64, 9, 3 },
        { KvDType.Int8, 128, 8, 2 },
        { KvDType.Int4, 128, 8, 2 },
        { KvDType.Fp32, 16, 4, 4 },
        { KvDType.Int8, 32, 4, 1 },
        { KvDType.Int4, 32, 6, 2 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BlockKernelsMatchTheGenericKernelOnAMixedPrefillAndDecodeStep(KvDType dtype, int headDim, int heads, int kvHeads)
    {
        var config = new ModelConfig
        {
            Architecture = "test", HiddenSize = heads * headDim, IntermediateSize = 1, NumLayers = 2, NumHeads = heads, NumKvHeads = kvHeads,
            HeadDim = headDim, VocabSize = 1, MaxPositionEmbeddings = 512,
        };
        var spec = new KvCacheSpec(2, kvHeads, headDim, 16, dtype);
        using var blockStorage = KvStorage.Create(spec, 64);
        using var genericStorage = KvStorage.Create(spec, 64);
        var block = new CpuPagedAttention(config, blockStorage, new RotaryEmbedding(config));
        var generic = new CpuPagedAttention(config, genericStorage, new RotaryEmbedding(config), allowBlockKernels: false);
        Requirements.OptionalUnless(block.UsesBlockKernels, "The block kernels need AVX-512; this machine runs the generic kernel only.");

        // Step 1 prefills three sequences (37, 16 and 1 tokens); step 2 decodes one token each and
        // prefills a fourth sequence of 21 tokens: partial blocks, chunk boundaries and all row counts.
        int[][] tables = [[0, 1, 2, 3], [4, 5, 6], [7, 8], [9, 10]];
        var rng = new Random(headDim * 31 + (int)dtype);
        (int Seq, int Start, int Count)[][] steps =
        [
            [(0, 0, 37), (1, 0, 16), (2, 0, 1)],
            [(0, 37, 1), (1, 16, 1), (2, 1, 1), (3, 0, 21)],
        ];
        foreach (var step in steps)
        {
            var batch = new AttentionBatch(128, 8);
            foreach (var (seq, start, count) in step)
            {
                int s = batch.AddSequence(tables[seq], start + count);
                for (int i = 0; i < count; i++) batch.AddToken(s, start + i);
            }
            int width = config.QDim + 2 * config.KvDim;
            for (int layer = 0; layer < 2; layer++)
            {
                var qkv = Enumerable.Range(0, batch.NumTokens * width).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
                var qkvCopy = qkv.ToArray();
                var expected = new float[batch.NumTokens * config.QDim];
                var actual = new float[batch.NumTokens * config.QDim];
                generic.Forward(layer, batch, qkvCopy, expected);
                block.Forward(layer, batch, qkv, actual);
                for (int i = 0; i < expected.Length; i++)
                {
                    Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-5 + 1e-4 * Math.Abs(expected[i]),
                        $"{dtype} d={headDim}: output {i} (token {i / config.QDim}) is {actual[i]}, generic kernel gives {expected[i]}");
                }
            }
        }
    }

    /// <summary>
    /// Two attentions (SmolLM2's attention shape, one layer) over two fresh caches of one dtype: the first with
    /// block kernels, the second with or without. Skips where the block kernels cannot run.
    /// </summary>
    private sealed class TwoCaches : IDisposable
    {
        private readonly KvStorage _first, _second;
        public ModelConfig Config { get; } = new()
        {
            Architecture = "test", HiddenSize = 9 * 64, IntermediateSize = 1, NumLayers = 1, NumHeads = 9, NumKvHeads = 3,
            HeadDim = 64, VocabSize = 1, MaxPositionEmbeddings = 1024,
        };
        public CpuPagedAttention First { get; }
        public CpuPagedAttention Second { get; }

        public TwoCaches(KvDType dtype, bool secondUsesBlockKernels)
        {
            var spec = new KvCacheSpec(1, 3, 64, 16, dtype);
            (_first, _second) = (KvStorage.Create(spec, 64), KvStorage.Create(spec, 64));
            First = new CpuPagedAttention(Config, _first, new RotaryEmbedding(Config));
            Second = new CpuPagedAttention(Config, _second, new RotaryEmbedding(Config), allowBlockKernels: secondUsesBlockKernels);
            Requirements.OptionalUnless(First.UsesBlockKernels, "The block kernels need AVX-512; this machine runs the generic kernel only.");
        }

        public void Dispose()
        {
            _first.Dispose();
            _second.Dispose();
        }
    }

    /// <summary>Deterministic q/k/v row for a position, so two runs can write identical caches.</summary>
    private static float[] Row(int width, int position, int salt)
    {
        var rng = new Random(position * 7919 + salt);
        return Enumerable.Range(0, width).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
    }

    /// <summary>Runs tokens [start, start + count) of one sequence through <paramref name="attention"/>; returns the outputs.</summary>
    private static float[] Step(CpuPagedAttention attention, ModelConfig config, int[] table, int start, int count, int salt)
    {
        int width = config.QDim + 2 * config.KvDim;
        var batch = new AttentionBatch(128, 2);
        int s = batch.AddSequence(table, start + count);
        var qkv = new float[count * width];
        for (int i = 0; i < count; i++)
        {
            batch.AddToken(s, start + i);
            Row(width, start + i, salt).CopyTo(qkv, i * width);
        }
        var output = new float[count * config.QDim];
        attention.Forward(0, batch, qkv, output);
        return output;
    }

    [Theory]
    [InlineData(KvDType.Fp32)]
    [InlineData(KvDType.Int8)]
    [InlineData(KvDType.Int4)]
    public void LongContextDecodeSplitAcrossPartsMatchesTheGenericKernel(KvDType dtype)
    {
        // 700 cached tokens: a decode token's tile spans three 256-token parts, computed as separate work
        // items and merged. The prefill before it runs in chunks of 100 tokens (rows past 256 in parts too).
        using var caches = new TwoCaches(dtype, secondUsesBlockKernels: false);
        var (block, generic, config) = (caches.First, caches.Second, caches.Config);
        var table = Enumerable.Range(0, 45).Reverse().ToArray(); // scattered, descending block ids
        for (int start = 0; start <= 700; start += 100)
        {
            int count = start == 700 ? 1 : 100;
            var expected = Step(generic, config, table, start, count, (int)dtype);
            var actual = Step(block, config, table, start, count, (int)dtype);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-5 + 1e-4 * Math.Abs(expected[i]),
                    $"{dtype}, tokens {start}..{start + count}: output {i} is {actual[i]}, generic kernel gives {expected[i]}");
            }
        }
    }

    [Theory]
    [InlineData(KvDType.Fp32)]
    [InlineData(KvDType.Int8)]
    public void ALongRowGivesTheSameBitsAsASplitDecodeOrInsideAPrefillTile(KvDType dtype)
    {
        // Position 700 once as a lone decode token (its tile split into parts over threads) and once as the
        // last row of a 16-token prefill tile (parts computed in one item): batch invariance needs equal bits.
        using var caches = new TwoCaches(dtype, secondUsesBlockKernels: true);
        var (a, b, config) = (caches.First, caches.Second, caches.Config);
        var table = Enumerable.Range(0, 45).ToArray();

        for (int start = 0; start < 700; start += 100) Step(a, config, table, start, Math.Min(100, 700 - start), 5);
        var alone = Step(a, config, table, 700, 1, 5);

        for (int start = 0; start < 685; start += 100) Step(b, config, table, start, Math.Min(100, 685 - start), 5);
        var inTile = Step(b, config, table, 685, 16, 5);

        var last = inTile.AsSpan(15 * config.QDim, config.QDim).ToArray();
        Assert.Equal(alone, last);
    }
}
