using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace InferServe.Engine.Kv;

internal sealed unsafe class Fp32KvStorage(KvCacheSpec spec, int numBlocks) : KvStorage(spec, numBlocks)
{
    protected override int RowBytes => Spec.HeadDim * 4;

    protected override void EncodeRow(byte* blockHead, int slot, ReadOnlySpan<float> values) =>
        values.CopyTo(new Span<float>(blockHead + slot * RowBytes, Spec.HeadDim));

    public override void DequantizeBlock(bool value, int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        new ReadOnlySpan<float>(BlockHead(value, layer, block, head), rows * Spec.HeadDim).CopyTo(dst);
        scale[..rows].Fill(1);
        offset[..rows].Clear();
    }
}

internal sealed unsafe class Fp16KvStorage(KvCacheSpec spec, int numBlocks) : KvStorage(spec, numBlocks)
{
    protected override int RowBytes => Spec.HeadDim * 2;

    protected override void EncodeRow(byte* blockHead, int slot, ReadOnlySpan<float> values) =>
        TensorPrimitives.ConvertToHalf(values, new Span<Half>(blockHead + slot * RowBytes, Spec.HeadDim));

    public override void DequantizeBlock(bool value, int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(BlockHead(value, layer, block, head), rows * Spec.HeadDim), dst[..(rows * Spec.HeadDim)]);
        scale[..rows].Fill(1);
        offset[..rows].Clear();
    }
}

/// <summary>Shared asymmetric per-token, per-head quantization: x ≈ q·scale + min, with fp16 scale and min.</summary>
internal abstract unsafe class AffineKvStorage(KvCacheSpec spec, int numBlocks) : KvStorage(spec, numBlocks)
{
    protected abstract int Levels { get; }
    protected override int ParamBytes => 4;

    protected Half* Params(byte* blockHead) => (Half*)(blockHead + Spec.BlockSize * RowBytes);

    protected override void EncodeRow(byte* blockHead, int slot, ReadOnlySpan<float> values)
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
        Pack(blockHead + slot * RowBytes, values, offset, inv);
    }

    protected byte Quantize(float x, float offset, float inv) => (byte)Math.Clamp((int)MathF.Round((x - offset) * inv), 0, Levels);

    protected abstract void Pack(byte* row, ReadOnlySpan<float> values, float offset, float inv);

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

    protected override void Pack(byte* row, ReadOnlySpan<float> values, float offset, float inv)
    {
        for (int i = 0; i < values.Length; i++) row[i] = Quantize(values[i], offset, inv);
    }

    public override void DequantizeBlock(bool value, int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        var bh = BlockHead(value, layer, block, head);
        TensorPrimitives.ConvertTruncating<byte, float>(new ReadOnlySpan<byte>(bh, rows * Spec.HeadDim), dst[..(rows * Spec.HeadDim)]);
        ReadParams(bh, rows, scale, offset);
    }
}

/// <summary>Two values per byte: byte j holds element j (low nibble) and element j + d/2 (high nibble), so unpacking stays contiguous.</summary>
internal sealed unsafe class Int4KvStorage(KvCacheSpec spec, int numBlocks) : AffineKvStorage(spec, numBlocks)
{
    [ThreadStatic] private static byte[]? _unpacked;

    protected override int Levels => 15;
    protected override int RowBytes => Spec.HeadDim / 2;

    protected override void Pack(byte* row, ReadOnlySpan<float> values, float offset, float inv)
    {
        int half = values.Length / 2;
        for (int j = 0; j < half; j++) row[j] = (byte)(Quantize(values[j], offset, inv) | (Quantize(values[j + half], offset, inv) << 4));
    }

    public override void DequantizeBlock(bool value, int layer, int block, int head, int rows, Span<float> dst, Span<float> scale, Span<float> offset)
    {
        var bh = BlockHead(value, layer, block, head);
        int d = Spec.HeadDim, half = d / 2;
        var unpacked = _unpacked is { } u && u.Length >= rows * d ? u : (_unpacked = new byte[Spec.BlockSize * d]);
        var packed = new ReadOnlySpan<byte>(bh, rows * half);
        for (int r = 0; r < rows; r++)
        {
            var src = packed.Slice(r * half, half);
            var lo = unpacked.AsSpan(r * d, half);
            var hi = unpacked.AsSpan(r * d + half, half);
            TensorPrimitives.BitwiseAnd(src, (byte)0x0F, lo);
            TensorPrimitives.ShiftRightLogical(src, 4, hi);
        }
        TensorPrimitives.ConvertTruncating<byte, float>(unpacked.AsSpan(0, rows * d), dst[..(rows * d)]);
        ReadParams(bh, rows, scale, offset);
    }
}
