using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;

namespace InferServe.Engine.Tests;

/// <summary>
/// KV that crosses between workers of different --kv-dtype is re-encoded once on import: the decode side ends up
/// with what it would have stored had it computed the tokens itself.
/// </summary>
public class KvConversionTests
{
    private static readonly KvDType[] All = [KvDType.Fp32, KvDType.Fp16, KvDType.Int8, KvDType.Int4];

    public static TheoryData<KvDType> Targets() => [.. All];

    public static TheoryData<KvDType, KvDType> Pairs()
    {
        var data = new TheoryData<KvDType, KvDType>();
        foreach (var s in All)
        {
            foreach (var t in All)
                if (s != t) data.Add(s, t);
        }

        return data;
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(Targets))]
    public void Blocks_from_an_fp32_worker_are_stored_exactly_as_if_computed_here(KvDType target)
    {
        var tokens = Tokens(seed: 1);
        using var source = Filled(KvDType.Fp32, tokens);
        using var direct = Filled(target, tokens);
        using var converted = KvStorage.Create(Spec(target), Blocks);

        Import(source, converted);

        Assert.Equal(WireBytes(direct), WireBytes(converted));
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(Pairs))]
    public void Converted_blocks_decode_to_the_original_tokens_within_both_dtypes_steps(KvDType from, KvDType to)
    {
        var tokens = Tokens(seed: 2);
        using var source = Filled(from, tokens);
        using var converted = KvStorage.Create(Spec(to), Blocks);

        Import(source, converted);

        double tolerance = Step(from) + Step(to) + 1e-5;
        for (int block = 0; block < Blocks; block++)
        {
            for (int layer = 0; layer < Layers; layer++)
            {
                for (int slot = 0; slot < BlockSize; slot++)
                {
                    var (k, v) = Decoded(converted, layer, block, slot);
                    var (ek, ev) = tokens[block * BlockSize + slot][layer];
                    for (int i = 0; i < k.Length; i++)
                    {
                        Assert.InRange(k[i], ek[i] - tolerance, ek[i] + tolerance);
                        Assert.InRange(v[i], ev[i] - tolerance, ev[i] + tolerance);
                    }
                }
            }
        }
    }

    [Fact(Timeout = 30_000)]
    public void A_chunk_that_is_not_whole_source_blocks_is_refused()
    {
        using var target = KvStorage.Create(Spec(KvDType.Int8), Blocks);
        using var converter = new KvBlockConverter(target.Spec, KvDType.Fp16);
        var spans = new KvBlockSpans(target, [0, 1]);

        var error = Assert.Throws<InvalidDataException>(() => converter.Write(spans, 0, new byte[converter.SourceBlockBytes + 3]));

        Assert.Contains("fp16", error.Message);
    }

    private const int Layers = 2, Heads = 2, HeadDim = 64, BlockSize = 16, Blocks = 2;

    private static KvCacheSpec Spec(KvDType dtype) => new(Layers, Heads, HeadDim, BlockSize, dtype);

    /// <summary>Absolute error bound of one stored value for inputs in [-2, 2] (range 4), rotation included.</summary>
    private static double Step(KvDType dtype) => dtype switch
    {
        KvDType.Fp32 => 0,
        KvDType.Fp16 => 2e-3,
        KvDType.Int8 => 4.0 / 255 / 2 * Math.Sqrt(HeadDim) * 4,
        _ => 4.0 / 15 / 2,
    };

    private static (float[] K, float[] V)[][] Tokens(int seed)
    {
        var rng = new Random(seed);
        float[] Row() => [.. Enumerable.Range(0, Heads * HeadDim).Select(_ => (float)(rng.NextDouble() * 4 - 2))];
        return [.. Enumerable.Range(0, Blocks * BlockSize).Select(_ => Enumerable.Range(0, Layers).Select(_ => (Row(), Row())).ToArray())];
    }

    private static KvStorage Filled(KvDType dtype, (float[] K, float[] V)[][] tokens)
    {
        var storage = KvStorage.Create(Spec(dtype), Blocks);
        for (int t = 0; t < tokens.Length; t++)
        {
            for (int layer = 0; layer < Layers; layer++)
                storage.Write(layer, t / BlockSize, t % BlockSize, tokens[t][layer].K, tokens[t][layer].V);
        }

        return storage;
    }

    private static byte[] WireBytes(KvStorage storage)
    {
        var spans = new KvBlockSpans(storage, [0, 1]);
        var bytes = new byte[spans.BlockBytes * Blocks];
        spans.Read(0, Blocks, bytes);
        return bytes;
    }

    /// <summary>What a decode worker does with a pulled lease: the prefill side's wire bytes, written in its own dtype.</summary>
    private static void Import(KvStorage source, KvStorage target)
    {
        KvBlockConverter? converter = null;
        try
        {
            new KvBlockSpans(target, [0, 1]).Write(0, WireBytes(source), source.Spec.DType, ref converter);
        }
        finally
        {
            converter?.Dispose();
        }
    }

    /// <summary>One token's K and V for all heads, back in the model's basis.</summary>
    private static (float[] K, float[] V) Decoded(KvStorage storage, int layer, int block, int slot)
    {
        var k = new float[Heads * HeadDim];
        var v = new float[Heads * HeadDim];
        var keys = new float[BlockSize * HeadDim];
        var values = new float[BlockSize * HeadDim];
        for (int h = 0; h < Heads; h++)
        {
            storage.DequantizeKeys(layer, block, h, keys);
            storage.DequantizeValues(layer, block, h, BlockSize, values);
            var hk = k.AsSpan(h * HeadDim, HeadDim);
            var hv = v.AsSpan(h * HeadDim, HeadDim);
            for (int c = 0; c < HeadDim; c++) hk[c] = keys[c * BlockSize + slot];
            values.AsSpan(slot * HeadDim, HeadDim).CopyTo(hv);
            if (storage.Rotated)
            {
                Hadamard.Transform(hk);
                Hadamard.Transform(hv);
            }
        }
        return (k, v);
    }
}
