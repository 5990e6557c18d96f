namespace InferServe.Engine.Kv.Transfer;

/// <summary>Where a span of KV bytes lives. Device memory is for accelerator KV pools; the CPU pool is host memory.</summary>
public enum KvMemoryKind { Host, Device }

/// <summary>A contiguous run of stored KV bytes (codes and their per-token parameters), as a transfer reads or fills it.</summary>
public readonly record struct KvSpan(nint Pointer, int Length, KvMemoryKind Kind)
{
    public unsafe Span<byte> AsHostSpan() =>
        Kind == KvMemoryKind.Host ? new Span<byte>((void*)Pointer, Length) : throw new InvalidOperationException("Device KV spans need a device copy.");
}

/// <summary>
/// The stored bytes of a run of KV blocks, in wire order: for each block, for each layer, its K region then its
/// V region (all KV heads, codes then parameters). Quantized caches travel quantized.
/// </summary>
public sealed class KvBlockSpans(KvStorage storage, int[] blocks)
{
    public int BlockCount => blocks.Length;
    public int Layers => storage.Spec.NumLayers;
    /// <summary>Bytes of one layer's K (or V) region of one block.</summary>
    public int RegionBytes => storage.LayerRegionBytes;
    public int BlockBytes => 2 * Layers * RegionBytes;
    /// <summary>The dtype the blocks are stored in here.</summary>
    public KvDType DType => storage.Spec.DType;

    /// <summary>The <paramref name="value"/> (V) or K region of layer <paramref name="layer"/> of the i-th block.</summary>
    public KvSpan Region(int i, int layer, bool value) => storage.LayerRegion(value, layer, blocks[i]);

    /// <summary>Copies blocks [first, first + count) into <paramref name="destination"/> in wire order.</summary>
    public void Read(int first, int count, Span<byte> destination)
    {
        int offset = 0;
        for (int i = first; i < first + count; i++)
        {
            for (int l = 0; l < Layers; l++)
            {
                Region(i, l, false).AsHostSpan().CopyTo(destination[offset..]);
                offset += RegionBytes;
                Region(i, l, true).AsHostSpan().CopyTo(destination[offset..]);
                offset += RegionBytes;
            }
        }
    }

    /// <summary>Fills blocks starting at <paramref name="first"/> from wire-order bytes (whole blocks only).</summary>
    public void Write(int first, ReadOnlySpan<byte> source)
    {
        if (source.Length % BlockBytes != 0) throw new InvalidDataException($"A KV chunk of {source.Length} bytes is not a whole number of {BlockBytes}-byte blocks.");
        int count = source.Length / BlockBytes;
        if (first < 0 || first + count > BlockCount) throw new InvalidDataException($"KV blocks [{first}, {first + count}) fall outside the {BlockCount} reserved.");
        int offset = 0;
        for (int i = first; i < first + count; i++)
        {
            for (int l = 0; l < Layers; l++)
            {
                source.Slice(offset, RegionBytes).CopyTo(Region(i, l, false).AsHostSpan());
                offset += RegionBytes;
                source.Slice(offset, RegionBytes).CopyTo(Region(i, l, true).AsHostSpan());
                offset += RegionBytes;
            }
        }
    }

    /// <summary>Stores one token's K and V (all heads) at a slot of the i-th block, encoding it in this cache's dtype.</summary>
    public void WriteToken(int i, int layer, int slot, ReadOnlySpan<float> k, ReadOnlySpan<float> v) =>
        storage.Write(layer, blocks[i], slot, k, v);

    /// <summary>
    /// Fills blocks from wire-order bytes stored as <paramref name="sourceDType"/>: copied as they are when it is
    /// this cache's dtype, re-encoded through <paramref name="converter"/> (created on first need) when not.
    /// </summary>
    public void Write(int first, ReadOnlySpan<byte> source, KvDType sourceDType, ref KvBlockConverter? converter)
    {
        if (sourceDType == DType)
        {
            Write(first, source);
            return;
        }
        converter ??= new KvBlockConverter(storage.Spec, sourceDType);
        converter.Write(this, first, source);
    }
}
