using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst)
    {
        new ReadOnlySpan<float>(BlockHead(false, layer, block, head), Spec.BlockSize * Spec.HeadDim).CopyTo(dst);
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst)
    {
        new ReadOnlySpan<float>(BlockHead(true, layer, block, head), rows * Spec.HeadDim).CopyTo(dst);
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

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst)
    {
        int n = Spec.BlockSize * Spec.HeadDim;
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(BlockHead(false, layer, block, head), n), dst[..n]);
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst)
    {
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(BlockHead(true, layer, block, head), rows * Spec.HeadDim), dst[..(rows * Spec.HeadDim)]);
    }
}

/// <summary>
/// Shared asymmetric quantization per token, per KV head and per group of <see cref="GroupSize"/>
/// channels: x ≈ q·scale + min, fp16 scale and min stored after the block-head's data as
/// [group][slot] arrays, so decoding applies them with whole-row vector operations.
/// </summary>
internal abstract unsafe class AffineKvStorage(KvCacheSpec spec, int numBlocks) : KvStorage(spec, numBlocks)
{
    protected abstract int Levels { get; }
    /// <summary>Channels sharing one scale and minimum.</summary>
    protected int GroupSize => KvCacheSpec.QuantGroupSize(Spec.DType, Spec.HeadDim);
    protected int Groups => Spec.HeadDim / GroupSize;
    protected override int ParamBytes => Groups * 4;

    private Half* Scales(byte* blockHead) => (Half*)(blockHead + Spec.BlockSize * RowBytes);
    private Half* Mins(byte* blockHead) => Scales(blockHead) + Groups * Spec.BlockSize;

    protected override void EncodeKey(byte* blockHead, int slot, ReadOnlySpan<float> values) => Encode(blockHead, slot, values, key: true);
    protected override void EncodeValue(byte* blockHead, int slot, ReadOnlySpan<float> values) => Encode(blockHead, slot, values, key: false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private void Encode(byte* blockHead, int slot, ReadOnlySpan<float> values, bool key)
    {
        Span<byte> q = stackalloc byte[values.Length];
        int gs = GroupSize, bs = Spec.BlockSize;
        for (int g = 0; g < Groups; g++)
        {
            var part = values.Slice(g * gs, gs);
            float min = TensorPrimitives.Min(part), max = TensorPrimitives.Max(part);
            // Round the parameters to fp16 first, so encoding uses exactly what decoding will see.
            var hScale = (Half)((max - min) / Levels);
            var hMin = (Half)min;
            Scales(blockHead)[g * bs + slot] = hScale;
            Mins(blockHead)[g * bs + slot] = hMin;
            float scale = (float)hScale, offset = (float)hMin, inv = scale > 0 ? 1f / scale : 0f;
            int i = 0;
            if (Avx512F.IsSupported)
            {
                for (var (o, iv, top) = (Vector512.Create(offset), Vector512.Create(inv), Vector512.Create((float)Levels)); i + 16 <= gs; i += 16)
                {
                    var codes = Vector512.Min(Vector512.Max(Vector512.Round((Vector512.Create(part.Slice(i, 16)) - o) * iv), Vector512<float>.Zero), top);
                    Avx512F.ConvertToVector128Byte(Vector512.ConvertToInt32(codes)).CopyTo(q.Slice(g * gs + i, 16));
                }
            }

            for (; i < gs; i++) q[g * gs + i] = (byte)Math.Clamp((int)MathF.Round((part[i] - offset) * inv), 0, Levels);
        }
        if (key) PackKey(blockHead, slot, q);
        else PackValue(blockHead + slot * RowBytes, q);
    }

    protected abstract void PackKey(byte* blockHead, int slot, ReadOnlySpan<byte> q);
    protected abstract void PackValue(byte* row, ReadOnlySpan<byte> q);

    /// <summary>Turns channel-major codes into values in place: each channel row uses its group's per-slot parameters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected void ApplyKeyParams(byte* blockHead, Span<float> dst)
    {
        int bs = Spec.BlockSize, gs = GroupSize, w = System.Numerics.Vector<float>.Count;
        Span<float> scale = stackalloc float[bs], min = stackalloc float[bs];
        fixed (float* d = dst, sc = scale, mn = min)
        {
            for (int g = 0; g < Groups; g++)
            {
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(Scales(blockHead) + g * bs, bs), scale);
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(Mins(blockHead) + g * bs, bs), min);
                for (int c = 0; c + w <= bs; c += w)
                {
                    // Slot parameters stay in registers across the group's channel rows.
                    var s = System.Runtime.CompilerServices.Unsafe.ReadUnaligned<System.Numerics.Vector<float>>(sc + c);
                    var m = System.Runtime.CompilerServices.Unsafe.ReadUnaligned<System.Numerics.Vector<float>>(mn + c);
                    for (int i = g * gs; i < (g + 1) * gs; i++)
                    {
                        float* p = d + i * bs + c;
                        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(p, System.Numerics.Vector.FusedMultiplyAdd(System.Runtime.CompilerServices.Unsafe.ReadUnaligned<System.Numerics.Vector<float>>(p), s, m));
                    }
                }
                for (int c = bs - bs % w; c < bs; c++)
                    for (int i = g * gs; i < (g + 1) * gs; i++) d[i * bs + c] = d[i * bs + c] * sc[c] + mn[c];
            }
        }
    }

    /// <summary>Turns token-major codes into values in place, one broadcast FMA per vector of a row's group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected void ApplyValueParams(byte* blockHead, int rows, Span<float> dst)
    {
        int bs = Spec.BlockSize, gs = GroupSize, d = Spec.HeadDim, w = System.Numerics.Vector<float>.Count;
        fixed (float* p = dst)
        {
            for (int g = 0; g < Groups; g++)
            {
                var scales = Scales(blockHead) + g * bs;
                var mins = Mins(blockHead) + g * bs;
                for (int j = 0; j < rows; j++)
                {
                    float sc = (float)scales[j], mn = (float)mins[j];
                    float* row = p + j * d + g * gs;
                    int c = 0;
                    if (System.Numerics.Vector.IsHardwareAccelerated)
                    {
                        var vs = new System.Numerics.Vector<float>(sc);
                        var vm = new System.Numerics.Vector<float>(mn);
                        for (; c + w <= gs; c += w)
                        {
                            System.Runtime.CompilerServices.Unsafe.WriteUnaligned(row + c,
                                System.Numerics.Vector.FusedMultiplyAdd(System.Runtime.CompilerServices.Unsafe.ReadUnaligned<System.Numerics.Vector<float>>(row + c), vs, vm));
                        }
                    }
                    for (; c < gs; c++) row[c] = row[c] * sc + mn;
                }
            }
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

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst)
    {
        var bh = BlockHead(false, layer, block, head);
        int n = Spec.BlockSize * Spec.HeadDim;
        Widen.BytesToFloats(new ReadOnlySpan<byte>(bh, n), dst[..n]);
        ApplyKeyParams(bh, dst);
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst)
    {
        var bh = BlockHead(true, layer, block, head);
        Widen.BytesToFloats(new ReadOnlySpan<byte>(bh, rows * Spec.HeadDim), dst[..(rows * Spec.HeadDim)]);
        ApplyValueParams(bh, rows, dst);
    }
}

/// <summary>
/// Two values per byte, packed so unpacking stays contiguous: for keys, channel i's byte j holds
/// tokens j (low nibble) and j + blockSize/2 (high); for values, token row byte i holds channels i and i + d/2.
/// </summary>
internal sealed unsafe class Int4KvStorage(KvCacheSpec spec, int numBlocks) : AffineKvStorage(spec, numBlocks)
{
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

    public override void DequantizeKeys(int layer, int block, int head, Span<float> dst)
    {
        var bh = BlockHead(false, layer, block, head);
        int bs = Spec.BlockSize;
        Widen.NibblesToFloats(new ReadOnlySpan<byte>(bh, Spec.HeadDim * bs / 2), Spec.HeadDim, bs, dst);
        ApplyKeyParams(bh, dst);
    }

    public override void DequantizeValues(int layer, int block, int head, int rows, Span<float> dst)
    {
        var bh = BlockHead(true, layer, block, head);
        Widen.NibblesToFloats(new ReadOnlySpan<byte>(bh, rows * Spec.HeadDim / 2), rows, Spec.HeadDim, dst);
        ApplyValueParams(bh, rows, dst);
    }
}
