using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace InferServe.Engine.Attention;

/// <summary>
/// Reads one KV block-head of 16 tokens straight from the cache's storage format. Keys come out per
/// channel (16 tokens in one vector), values per 16 channels of one token. Affine codecs return raw
/// codes; the kernels apply scale and minimum algebraically (per token, after the dot product), so
/// no block is ever expanded to floats.
/// </summary>
internal unsafe interface IKvBlockCodec
{
    static abstract bool Affine { get; }
    static abstract Vector512<float> Key(byte* head, int channel);
    static abstract Vector512<float> Value(byte* head, int token, int channel, int headDim);
}

internal readonly unsafe struct Fp32Codec : IKvBlockCodec
{
    public static bool Affine => false;
    public static Vector512<float> Key(byte* head, int channel) => Vector512.Load((float*)head + channel * 16);
    public static Vector512<float> Value(byte* head, int token, int channel, int headDim) => Vector512.Load((float*)head + token * headDim + channel);
}

internal readonly unsafe struct Fp16Codec : IKvBlockCodec
{
    public static bool Affine => false;
    public static Vector512<float> Key(byte* head, int channel) => BlockKernels.Halves(Vector256.Load((ushort*)head + channel * 16));
    public static Vector512<float> Value(byte* head, int token, int channel, int headDim) => BlockKernels.Halves(Vector256.Load((ushort*)head + token * headDim + channel));
}

internal readonly unsafe struct Int8Codec : IKvBlockCodec
{
    public static bool Affine => true;
    public static Vector512<float> Key(byte* head, int channel) => BlockKernels.Bytes(Vector128.Load(head + channel * 16));
    public static Vector512<float> Value(byte* head, int token, int channel, int headDim) => BlockKernels.Bytes(Vector128.Load(head + token * headDim + channel));
}

/// <summary>Keys: channel row of 8 bytes, tokens 0..7 in the low nibbles, 8..15 in the high. Values: byte i holds channels i and i + d/2.</summary>
internal readonly unsafe struct Int4Codec : IKvBlockCodec
{
    public static bool Affine => true;

    public static Vector512<float> Key(byte* head, int channel)
    {
        var packed = Vector128.CreateScalar(*(ulong*)(head + channel * 8));
        var low = packed.AsByte() & Vector128.Create((byte)0x0F);
        var high = Vector128.ShiftRightLogical(packed, 4).AsByte() & Vector128.Create((byte)0x0F);
        var tokens = Sse2.UnpackLow(low.AsUInt64(), high.AsUInt64()); // the block kernels run on AVX-512 hardware only
        return BlockKernels.Bytes(tokens.AsByte());
    }

    public static Vector512<float> Value(byte* head, int token, int channel, int headDim)
    {
        int half = headDim / 2;
        var packed = Vector128.Load(head + token * half + (channel < half ? channel : channel - half));
        var codes = channel < half ? packed & Vector128.Create((byte)0x0F) : Vector128.ShiftRightLogical(packed, 4);
        return BlockKernels.Bytes(codes);
    }
}

internal interface IRowCount { static abstract int N { get; } }
internal readonly struct Rows1 : IRowCount { public static int N => 1; }
internal readonly struct Rows2 : IRowCount { public static int N => 2; }
internal readonly struct Rows3 : IRowCount { public static int N => 3; }
internal readonly struct Rows4 : IRowCount { public static int N => 4; }

/// <summary>
/// Block-level attention kernels for 16-token blocks and head dims that are multiples of 16, over up
/// to four query rows at a time (rows share every key and value load). Generic over the codec and
/// the row count so the JIT emits one branch-free loop per combination.
/// </summary>
internal static unsafe class BlockKernels
{
    public const int BlockSize = 16;

    /// <summary>The fast path needs 512-bit vectors in hardware; elsewhere the generic kernel runs.</summary>
    public static bool Supported(int blockSize, int headDim, int groupSize) =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && blockSize == BlockSize && headDim % 16 == 0 && groupSize % 16 == 0;

    /// <summary>Asks for a block-head's cache lines ahead of use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(byte* head, int bytes)
    {
        if (!Sse.IsSupported) return;
        for (int i = 0; i < bytes; i += 64) Sse.Prefetch0(head + i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Bytes(Vector128<byte> codes) => Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(codes));

    /// <summary>16 fp16 → fp32, exact for finite values: shift the bits into place and rescale the exponent by 2^112.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Halves(Vector256<ushort> bits)
    {
        var x = Avx512F.ConvertToVector512UInt32(bits);
        var sign = (x & Vector512.Create(0x8000u)) << 16;
        var magnitude = ((x & Vector512.Create(0x7FFFu)) << 13).AsSingle() * Vector512.Create(5.192297e33f); // 2^112
        return (magnitude.AsUInt32() | sign).AsSingle();
    }

    /// <summary>
    /// scores[r·stride + j] for the block's 16 tokens: Σ over groups of scale_j·(q_r·codes_j) + min_j·Σq_r
    /// (affine), or q_r·k_j. <paramref name="q"/> holds N rows of d (already scaled by 1/√d);
    /// <paramref name="qsum"/> N rows of per-group sums of q.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Score<TCodec, TRows>(byte* head, Half* parameters, float* q, float* qsum, int d, int groups, int groupSize, float* scores, int stride)
        where TCodec : struct, IKvBlockCodec where TRows : struct, IRowCount
    {
        int n = TRows.N;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int g = 0; g < groups; g++)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int i = g * groupSize, end = i + groupSize; i < end; i++)
            {
                var k = TCodec.Key(head, i);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[i]), k, a0);
                if (n > 1) a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q[d + i]), k, a1);
                if (n > 2) a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q[2 * d + i]), k, a2);
                if (n > 3) a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q[3 * d + i]), k, a3);
            }
            if (TCodec.Affine)
            {
                var scale = Halves(Vector256.Load((ushort*)parameters + g * 16));
                var min = Halves(Vector256.Load((ushort*)parameters + (groups + g) * 16));
                s0 += Vector512.FusedMultiplyAdd(a0, scale, min * qsum[g]);
                if (n > 1) s1 += Vector512.FusedMultiplyAdd(a1, scale, min * qsum[groups + g]);
                if (n > 2) s2 += Vector512.FusedMultiplyAdd(a2, scale, min * qsum[2 * groups + g]);
                if (n > 3) s3 += Vector512.FusedMultiplyAdd(a3, scale, min * qsum[3 * groups + g]);
            }
            else
            {
                s0 += a0;
                if (n > 1) s1 += a1;
                if (n > 2) s2 += a2;
                if (n > 3) s3 += a3;
            }
        }
        s0.Store(scores);
        if (n > 1) s1.Store(scores + stride);
        if (n > 2) s2.Store(scores + 2 * stride);
        if (n > 3) s3.Store(scores + 3 * stride);
    }

    /// <summary>
    /// out[r·d + c .. +16] = Σ over blocks and tokens of w_r[j]·value_j[c..c+16], where w is the row's
    /// softmax weight times the token's scale (affine) and the minimum's share is added by the caller.
    /// <paramref name="weights"/>: N rows of <paramref name="stride"/> softmax weights over the context.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateChunk<TCodec, TRows>(nint* heads, int paramOffset, int headBytes, int blocks, int lastCount, float* weights, int stride,
        int d, int channel, int group, float* scaled, float* output)
        where TCodec : struct, IKvBlockCodec where TRows : struct, IRowCount
    {
        int n = TRows.N;
        Vector512<float> o0 = default, o1 = default, o2 = default, o3 = default;
        for (int b = 0; b < blocks; b++)
        {
            byte* head = (byte*)heads[b];
            int count = b == blocks - 1 ? lastCount : BlockSize;
            if (channel == 0 && b + 2 < blocks) Prefetch((byte*)heads[b + 2], headBytes);
            float* w0 = weights + b * BlockSize, w1 = w0 + stride, w2 = w1 + stride, w3 = w2 + stride;
            if (TCodec.Affine)
            {
                var scale = Halves(Vector256.Load((ushort*)(head + paramOffset) + group * 16));
                (Vector512.Load(w0) * scale).Store(scaled);
                if (n > 1) (Vector512.Load(w1) * scale).Store(scaled + 16);
                if (n > 2) (Vector512.Load(w2) * scale).Store(scaled + 32);
                if (n > 3) (Vector512.Load(w3) * scale).Store(scaled + 48);
                w0 = scaled; w1 = scaled + 16; w2 = scaled + 32; w3 = scaled + 48;
            }
            for (int j = 0; j < count; j++)
            {
                var v = TCodec.Value(head, j, channel, d);
                o0 = Vector512.FusedMultiplyAdd(Vector512.Create(w0[j]), v, o0);
                if (n > 1) o1 = Vector512.FusedMultiplyAdd(Vector512.Create(w1[j]), v, o1);
                if (n > 2) o2 = Vector512.FusedMultiplyAdd(Vector512.Create(w2[j]), v, o2);
                if (n > 3) o3 = Vector512.FusedMultiplyAdd(Vector512.Create(w3[j]), v, o3);
            }
        }
        o0.Store(output + channel);
        if (n > 1) o1.Store(output + d + channel);
        if (n > 2) o2.Store(output + 2 * d + channel);
        if (n > 3) o3.Store(output + 3 * d + channel);
    }

    /// <summary>bias[r·groups + g] = Σⱼ w_r[j]·min_g[j]: the minimums' share of an affine value mix, per row and group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MinShares(nint* heads, int paramOffset, int blocks, int lastCount, float* weights, int stride, int rows, int groups, float* bias)
    {
        var lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (int r = 0; r < rows; r++)
        {
            for (int g = 0; g < groups; g++)
            {
                var acc = Vector512<float>.Zero;
                for (int b = 0; b < blocks; b++)
                {
                    var min = Halves(Vector256.Load((ushort*)((byte*)heads[b] + paramOffset) + (groups + g) * 16));
                    // Slots past the context hold stale (possibly NaN) parameters: select, don't multiply, them away.
                    if (b == blocks - 1 && lastCount < BlockSize)
                        min = Vector512.ConditionalSelect(Vector512.LessThan(lanes, Vector512.Create(lastCount)).AsSingle(), min, Vector512<float>.Zero);
                    acc = Vector512.FusedMultiplyAdd(Vector512.Load(weights + r * stride + b * BlockSize), min, acc);
                }
                bias[r * groups + g] = Vector512.Sum(acc);
            }
        }
    }
}
