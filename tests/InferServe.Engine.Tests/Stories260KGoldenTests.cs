using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;
using InferServe.Models;
using InferServe.Onnx;
using InferServe.TestSupport;

namespace InferServe.Engine.Tests;

/// <summary>Reference outputs from stories260K's SOURCE.md (pure-Python llama2.c forward pass).</summary>
public class Stories260KGoldenTests
{
    private static readonly int[] FirstGreedyIds = [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337];

    private static ModelInstance Load(WeightPrecision precision = WeightPrecision.Fp32)
    {
        var dir = TestPaths.RequireStories260K();
        using var ckpt = CheckpointLoader.Open(Path.Combine(dir, "stories260K.bin"));
        return new ModelInstance(ckpt, new RunnerOptions { Graphs = new GraphOptions { Precision = precision }, CacheDir = TestPaths.GraphCacheDir },
            new KvCacheOptions { MemoryBytes = 16 << 20 });
    }

    [Fact]
    public void GreedyFromBosReproducesTheReferenceTokens()
    {
        using var model = Load();
        using var seq = new SequenceRunner(model);
        var logits = seq.Append([1]);
        Assert.Equal(403, Sampler.ArgMax(logits));
        Assert.Equal(17.0235f, logits[403], 1e-3f);

        var ids = new List<int>();
        int next = Sampler.ArgMax(logits);
        while (ids.Count < FirstGreedyIds.Length)
        {
            ids.Add(next);
            next = Sampler.ArgMax(seq.Append([next]));
        }
        Assert.Equal(FirstGreedyIds, ids);
    }

    [Theory]
    [InlineData(WeightPrecision.Int8)]
    [InlineData(WeightPrecision.Int4)]
    public void QuantizedWeightsRunAndStayCloseToFp32(WeightPrecision precision)
    {
        using var fp32 = Load();
        using var quant = Load(precision);
        using var a = new SequenceRunner(fp32);
        using var b = new SequenceRunner(quant);
        var la = a.Append([1]).ToArray();
        var lb = b.Append([1]).ToArray();
        Assert.Equal(Sampler.ArgMax(la), Sampler.ArgMax(lb));
        float worst = la.Zip(lb, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst < (precision == WeightPrecision.Int8 ? 0.5f : 2.5f), $"max logit difference {worst}");
    }
}
