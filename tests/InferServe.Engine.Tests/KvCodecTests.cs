using InferServe.Engine.Kv;

namespace InferServe.Engine.Tests;

/// <summary>What goes into a KV block comes back out within the dtype's quantization step.</summary>
public class KvCodecTests
{
    [Theory]
    [InlineData(KvDType.Fp32, 64, 0.0)]
    [InlineData(KvDType.Fp16, 64, 2e-3)]
    [InlineData(KvDType.Int8, 64, 1.0 / 255)]
    [InlineData(KvDType.Int4, 64, 1.0 / 15)]
    [InlineData(KvDType.Int8, 8, 1.0 / 255)]
    [InlineData(KvDType.Int4, 8, 1.0 / 15)]
    public void KeysAndValuesRoundTripWithinHalfAStepOfTheirRange(KvDType dtype, int headDim, double relativeStep)
    {
        var spec = new KvCacheSpec(NumLayers: 2, NumKvHeads: 2, HeadDim: headDim, BlockSize: 16, DType: dtype);
        using var storage = KvStorage.Create(spec, numBlocks: 3);
        var rng = new Random(headDim + (int)dtype);
        var k = new float[16][];
        var v = new float[16][];
        for (int slot = 0; slot < 16; slot++)
        {
            k[slot] = Enumerable.Range(0, spec.KvDim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
            v[slot] = Enumerable.Range(0, spec.KvDim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
            storage.Write(layer: 1, block: 2, slot, k[slot], v[slot]);
        }
        var keys = new float[16 * headDim];
        var values = new float[16 * headDim];
        for (int head = 0; head < 2; head++)
        {
            storage.DequantizeKeys(1, 2, head, keys);
            storage.DequantizeValues(1, 2, head, 16, values);
            for (int slot = 0; slot < 16; slot++)
            {
                for (int i = 0; i < headDim; i++)
                {
                    // Rotated storage keeps dot products, not coordinates: compare in the rotated basis.
                    double tolerance = relativeStep * 4 * (storage.Rotated ? Math.Sqrt(headDim) : 1) / 2 + 1e-6;
                    Assert.InRange(keys[i * 16 + slot], Expected(k[slot], head, i) - tolerance, Expected(k[slot], head, i) + tolerance);
                    Assert.InRange(values[slot * headDim + i], Expected(v[slot], head, i) - tolerance, Expected(v[slot], head, i) + tolerance);
                }
            }
        }

        double Expected(float[] row, int head, int i)
        {
            var h = row.AsSpan(head * headDim, headDim).ToArray();
            if (storage.Rotated) Hadamard.Transform(h);
            return h[i];
        }
    }
}

public class HadamardTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(128)]
    public void TheTransformIsOrthonormalAndItsOwnInverse(int n)
    {
        var rng = new Random(n);
        var x = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var y = x.ToArray();
        Hadamard.Transform(y);
        Assert.Equal(x.Sum(v => v * v), y.Sum(v => v * v), 1e-4f);   // lengths preserved
        Assert.Equal(x.Sum() / MathF.Sqrt(n), y[0], 1e-5f);           // first row of H is all ones
        Hadamard.Transform(y);
        for (int i = 0; i < n; i++) Assert.Equal(x[i], y[i], 1e-5f);
    }
}
