using System.Numerics.Tensors;

namespace InferServe.Engine.Kv;

internal sealed unsafe class Fp32KvStorage(KvCacheSpec spec, int numBlocks) : KvStorage(spec, numBlocks)
{
    protected override int RowBytes => Spec.HeadDim * 4;

    protected override void EncodeKey(byte* blockHead, int slot, ReadOnlySpan<float> values)
    {
        var dst = (float*)blockHead;
        for (int i = 0; i < values.Length; i++) dst[i * Spec.BlockSize + slot] = values[i];
    }

    protected override void EncodeValue(byte* blockHead, int slot, ReadOnlySpan<float> values) =>
        values.CopyTo(new Span<float>(blockHead + slot * RowBytes, Spec.HeadDim));

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        new ReadOnlySpan<float>(BlockHead(false, layer, block, head), Spec.BlockSize * Spec.HeadDim).CopyTo(dst);
        scale[..Spec.BlockSize].Fill(1);
        offset[..Spec.BlockSize].Clear();
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        new ReadOnlySpan<float>(BlockHead(true, layer, block, head), rows * Spec.HeadDim).CopyTo(dst);
        scale[..rows].Fill(1);
        offset[..rows].Clear();
    }
}

internal sealed unsafe class Fp16KvStorage(KvCacheSpec spec, int numBlocks) : KvStorage(spec, numBlocks)
{
    protected override int RowBytes => Spec.HeadDim * 2;

    protected override void EncodeKey(byte* blockHead, int slot, ReadOnlySpan<float> values)
    {
        var dst = (Half*)blockHead;
        for (int i = 0; i < values.Length; i++) dst[i * Spec.BlockSize + slot] = (Half)values[i];
    }

    protected override void EncodeValue(byte* blockHead, int slot, ReadOnlySpan<float> values) =>
        TensorPrimitives.ConvertToHalf(values, new Span<Half>(blockHead + slot * RowBytes, Spec.HeadDim));

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        int n = Spec.BlockSize * Spec.HeadDim;
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(BlockHead(false, layer, block, head), n), dst[..n]);
        scale[..Spec.BlockSize].Fill(1);
        offset[..Spec.BlockSize].Clear();
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(BlockHead(true, layer, block, head), rows * Spec.HeadDim), dst[..(rows * Spec.HeadDim)]);
        scale[..rows].Fill(1);
        offset[..rows].Clear();
    }
}

/// <summary>Shared asymmetric per-token, per-head quantization: x ≈ q·scale + min, with fp16 scale and min.</summary>
internal abstract unsafe class AffineKvStorage(KvCacheSpec spec, int numBlocks) : KvStorage(spec, numBlocks)
{
    protected abstract int Levels { get; }
    protected override int ParamBytes => 4;

    private Half* Params(byte* blockHead) => (Half*)(blockHead + Spec.BlockSize * RowBytes);

    protected override void EncodeKey(byte* blockHead, int slot, ReadOnlySpan<float> values) => Encode(blockHead, slot, values, key: true);
    protected override void EncodeValue(byte* blockHead, int slot, ReadOnlySpan<float> values) => Encode(blockHead, slot, values, key: false);

    private void Encode(byte* blockHead, int slot, ReadOnlySpan<float> values, bool key)
    {
        float min = TensorPrimitives.Min(values), max = TensorPrimitives.Max(values);
        // Round the parameters to fp16 first, so encoding uses exactly what decoding will see.
        var hScale = (Half)((max - min) / Levels);
        var hMin = (Half)min;
        float scale = (float)hScale, offset = (float)hMin;
        float inv = scale > 0 ? 1f / scale : 0f;
        var p = Params(blockHead);
        p[2 * slot] = hScale;
        p[2 * slot + 1] = hMin;
        Span<byte> q = stackalloc byte[values.Length];
        for (int i = 0; i < values.Length; i++) q[i] = (byte)Math.Clamp((int)MathF.Round((values[i] - offset) * inv), 0, Levels);
        if (key) PackKey(blockHead, slot, q);
        else PackValue(blockHead + slot * RowBytes, q);
    }

    protected abstract void PackKey(byte* blockHead, int slot, ReadOnlySpan<byte> q);
    protected abstract void PackValue(byte* row, ReadOnlySpan<byte> q);

    protected void ReadParams(byte* blockHead, int rows, Span<float> scale, Span<float> offset)
    {
        var p = Params(blockHead);
        for (int r = 0; r < rows; r++)
        {
            scale[r] = (float)p[2 * r];
            offset[r] = (float)p[2 * r + 1];
        }
    }
}

internal sealed unsafe class Int8KvStorage(KvCacheSpec spec, int numBlocks) : AffineKvStorage(spec, numBlocks)
{
    protected override int Levels => 255;
    protected override int RowBytes => Spec.HeadDim;

    protected override void PackKey(byte* blockHead, int slot, ReadOnlySpan<byte> q)
    {
        for (int i = 0; i < q.Length; i++) blockHead[i * Spec.BlockSize + slot] = q[i];
    }

    protected override void PackValue(byte* row, ReadOnlySpan<byte> q) => q.CopyTo(new Span<byte>(row, q.Length));

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        var bh = BlockHead(false, layer, block, head);
        int n = Spec.BlockSize * Spec.HeadDim;
        TensorPrimitives.ConvertTruncating<byte, float>(new ReadOnlySpan<byte>(bh, n), dst[..n]);
        ReadParams(bh, Spec.BlockSize, scale, offset);
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        var bh = BlockHead(true, layer, block, head);
        TensorPrimitives.ConvertTruncating<byte, float>(new ReadOnlySpan<byte>(bh, rows * Spec.HeadDim), dst[..(rows * Spec.HeadDim)]);
        ReadParams(bh, rows, scale, offset);
    }
}

/// <summary>
/// Two values per byte, packed so unpacking stays contiguous: for keys, channel i's byte j holds
/// tokens j (low nibble) and j + blockSize/2 (high); for values, token row byte i holds channels i and i + d/2.
/// </summary>
internal sealed unsafe class Int4KvStorage(KvCacheSpec spec, int numBlocks) : AffineKvStorage(spec, numBlocks)
{
    [ThreadStatic] private static byte[]? _unpacked;

    protected override int Levels => 15;
    protected override int RowBytes => Spec.HeadDim / 2;

    protected override void PackKey(byte* blockHead, int slot, ReadOnlySpan<byte> q)
    {
        int half = Spec.BlockSize / 2, shift = slot < half ? 0 : 4, mask = slot < half ? 0xF0 : 0x0F, j = slot % half;
        for (int i = 0; i < q.Length; i++)
        {
            byte* b = blockHead + i * half + j;
            *b = (byte)((*b & mask) | (q[i] << shift));
        }
    }

    protected override void PackValue(byte* row, ReadOnlySpan<byte> q)
    {
        int half = q.Length / 2;
        for (int j = 0; j < half; j++) row[j] = (byte)(q[j] | (q[j + half] << 4));
    }

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        var bh = BlockHead(false, layer, block, head);
        int bs = Spec.BlockSize;
        Unpack(new ReadOnlySpan<byte>(bh, Spec.HeadDim * bs / 2), Spec.HeadDim, bs, dst);
        ReadParams(bh, bs, scale, offset);
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        var bh = BlockHead(true, layer, block, head);
        Unpack(new ReadOnlySpan<byte>(bh, rows * Spec.HeadDim / 2), rows, Spec.HeadDim, dst);
        ReadParams(bh, rows, scale, offset);
    }

    /// <summary>Each of <paramref name="rows"/> packed rows of width/2 bytes becomes width values: low nibbles, then high nibbles.</summary>
    private static void Unpack(ReadOnlySpan<byte> packed, int rows, int width, Span<float> dst)
    {
        int half = width / 2;
        var unpacked = _unpacked is { } u && u.Length >= rows * width ? u : (_unpacked = new byte[rows * width]);
        for (int r = 0; r < rows; r++)
        {
            var src = packed.Slice(r * half, half);
            TensorPrimitives.BitwiseAnd(src, (byte)0x0F, unpacked.AsSpan(r * width, half));
            TensorPrimitives.ShiftRightLogical(src, 4, unpacked.AsSpan(r * width + half, half));
        }
        TensorPrimitives.ConvertTruncating<byte, float>(unpacked.AsSpan(0, rows * width), dst[..(rows * width)]);
    }
}
