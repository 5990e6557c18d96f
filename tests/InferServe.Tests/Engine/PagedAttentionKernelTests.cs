using InferServe.Engine.Attention;
using InferServe.Engine.Kv;
using InferServe.Models;

namespace InferServe.Tests.Engine;

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
        Assert.SkipUnless(block.UsesBlockKernels, "The block kernels need AVX-512; this machine runs the generic kernel only.");

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
                    Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-5 + 1e-4 * Math.Abs(expected[i]),
                        $"{dtype} d={headDim}: output {i} (token {i / config.QDim}) is {actual[i]}, generic kernel gives {expected[i]}");
            }
        }
    }
}
