using System.Runtime.InteropServices;

namespace InferServe.Engine.Kv;

/// <summary>
/// The physical KV cache: per layer, K and V regions laid out [block, kvHead, slot, headDim] so one
/// head's keys within a block are contiguous for the attention kernel.
/// </summary>
public sealed unsafe class KvStorage : IDisposable
{
    private readonly float*[] _k;
    private readonly float*[] _v;

    public KvCacheSpec Spec { get; }
    public int NumBlocks { get; }

    public KvStorage(KvCacheSpec spec, int numBlocks)
    {
        if (spec.DType != KvDType.Fp32) throw new NotSupportedException($"KV dtype {spec.DType} is not supported by this storage yet.");
        Spec = spec;
        NumBlocks = numBlocks;
        _k = new float*[spec.NumLayers];
        _v = new float*[spec.NumLayers];
        nuint bytes = (nuint)((long)numBlocks * spec.BlockSize * spec.KvDim * sizeof(float));
        for (int l = 0; l < spec.NumLayers; l++)
        {
            _k[l] = (float*)NativeMemory.AlignedAlloc(bytes, 64);
            _v[l] = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        }
    }

    private long Offset(int block, int head, int slot) => (((long)block * Spec.NumKvHeads + head) * Spec.BlockSize + slot) * Spec.HeadDim;

    /// <summary>Keys of one head in one block: [BlockSize, HeadDim].</summary>
    public ReadOnlySpan<float> KeyBlock(int layer, int block, int head) => new(_k[layer] + Offset(block, head, 0), Spec.BlockSize * Spec.HeadDim);
    public ReadOnlySpan<float> ValueBlock(int layer, int block, int head) => new(_v[layer] + Offset(block, head, 0), Spec.BlockSize * Spec.HeadDim);

    /// <summary>Stores one token's K and V (all heads, [KvDim] each) at a block slot.</summary>
    public void Write(int layer, int block, int slot, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int d = Spec.HeadDim;
        for (int h = 0; h < Spec.NumKvHeads; h++)
        {
            k.Slice(h * d, d).CopyTo(new Span<float>(_k[layer] + Offset(block, h, slot), d));
            v.Slice(h * d, d).CopyTo(new Span<float>(_v[layer] + Offset(block, h, slot), d));
        }
    }

    public void Dispose()
    {
        for (int l = 0; l < Spec.NumLayers; l++)
        {
            NativeMemory.AlignedFree(_k[l]);
            NativeMemory.AlignedFree(_v[l]);
        }
    }
}
