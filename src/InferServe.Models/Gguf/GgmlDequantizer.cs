using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace InferServe.Models.Gguf;

/// <summary>ggml tensor types (the numbering of ggml.h); only some are readable.</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

/// <summary>
/// Converts ggml blocks to fp32, following ggml-quants.c's dequantize_row_* bit layouts. Blocks are
/// independent, so large tensors are split across cores in whole blocks.
/// </summary>
public static class GgmlDequantizer
{
    private const int QK = 32;   // elements per Q4_0 / Q8_0 block
    private const int QKK = 256; // elements per K-quant super-block

    /// <summary>(elements per block, bytes per block) of the supported types, or null.</summary>
    public static (int BlockElements, int BlockBytes)? Layout(GgmlType type) => type switch
    {
        GgmlType.F32 => (1, 4),
        GgmlType.F16 or GgmlType.BF16 => (1, 2),
        GgmlType.Q8_0 => (QK, 2 + QK),
        GgmlType.Q4_0 => (QK, 2 + QK / 2),
        GgmlType.Q4_K => (QKK, 4 + 12 + QKK / 2),
        GgmlType.Q5_K => (QKK, 4 + 12 + QKK / 8 + QKK / 2),
        GgmlType.Q6_K => (QKK, QKK / 2 + QKK / 4 + QKK / 16 + 2),
        _ => null,
    };

    public static string SupportedTypes => "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K";

    /// <summary>Dequantizes whole blocks from <paramref name="src"/> into all of <paramref name="dst"/>.</summary>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        var (blockElements, blockBytes) = Layout(type) ?? throw new ArgumentException($"ggml type {type} is not supported", nameof(type));
        if (dst.Length % blockElements != 0 || src.Length != dst.Length / blockElements * blockBytes)
            throw new ArgumentException($"{type}: {src.Length} bytes do not hold {dst.Length} elements");
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                return;
            case GgmlType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
                return;
            case GgmlType.BF16:
                var bf = MemoryMarshal.Cast<byte, ushort>(src);
                var bits = MemoryMarshal.Cast<float, uint>(dst);
                for (int i = 0; i < bf.Length; i++) bits[i] = (uint)bf[i] << 16;
                return;
        }

        int blocks = dst.Length / blockElements;
        for (int b = 0; b < blocks; b++)
        {
            var block = src.Slice(b * blockBytes, blockBytes);
            var y = dst.Slice(b * blockElements, blockElements);
            switch (type)
            {
                case GgmlType.Q8_0: Q8_0(block, y); break;
                case GgmlType.Q4_0: Q4_0(block, y); break;
                case GgmlType.Q4_K: Q4_K(block, y); break;
                case GgmlType.Q5_K: Q5_K(block, y); break;
                case GgmlType.Q6_K: Q6_K(block, y); break;
            }
        }
    }

    /// <summary>As <see cref="Dequantize(GgmlType, ReadOnlySpan{byte}, Span{float})"/>, in parallel over chunks of whole blocks.</summary>
    public static unsafe void DequantizeParallel(GgmlType type, byte* src, long srcBytes, float[] dst)
    {
        var (blockElements, blockBytes) = Layout(type) ?? throw new ArgumentException($"ggml type {type} is not supported", nameof(type));
        long blocks = dst.LongLength / blockElements;
        if (blocks * blockBytes != srcBytes) throw new ArgumentException($"{type}: {srcBytes} bytes do not hold {dst.LongLength} elements");
        const long BlocksPerChunk = 1 << 14;
        long chunks = (blocks + BlocksPerChunk - 1) / BlocksPerChunk;
        if (chunks <= 1)
        {
            Dequantize(type, new ReadOnlySpan<byte>(src, checked((int)srcBytes)), dst);
            return;
        }

        nint basePtr = (nint)src;
        Parallel.For(0, chunks, c =>
        {
            long first = c * BlocksPerChunk, n = Math.Min(BlocksPerChunk, blocks - first);
            var s = new ReadOnlySpan<byte>((byte*)basePtr + first * blockBytes, checked((int)(n * blockBytes)));
            Dequantize(type, s, dst.AsSpan(checked((int)(first * blockElements)), checked((int)(n * blockElements))));
        });
    }

    private static float Half(ReadOnlySpan<byte> b) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b));

    // block_q8_0: fp16 d, int8 qs[32]; x = d * q.
    private static void Q8_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half(block);
        var qs = MemoryMarshal.Cast<byte, sbyte>(block.Slice(2, QK));
        for (int j = 0; j < QK; j++) y[j] = d * qs[j];
    }

    // block_q4_0: fp16 d, u8 qs[16]; low nibbles are elements 0..15, high nibbles 16..31, offset 8.
    private static void Q4_0(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half(block);
        var qs = block.Slice(2, QK / 2);
        for (int j = 0; j < QK / 2; j++)
        {
            y[j] = d * ((qs[j] & 0xF) - 8);
            y[j + QK / 2] = d * ((qs[j] >> 4) - 8);
        }
    }

    // 12 bytes pack eight 6-bit scales and eight 6-bit mins (get_scale_min_k4).
    private static void ScaleMin(int j, ReadOnlySpan<byte> q, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = q[j] & 63;
            min = q[j + 4] & 63;
        }
        else
        {
            scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    // block_q4_K: fp16 d, fp16 dmin, u8 scales[12], u8 qs[128]; 8 sub-blocks of 32 with scale and min.
    private static void Q4_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half(block), dmin = Half(block[2..]);
        var scales = block.Slice(4, 12);
        var q = block.Slice(16, QKK / 2);
        for (int j = 0, isub = 0; j < QKK; j += 64, isub += 2)
        {
            ScaleMin(isub, scales, out int sc1, out int m1);
            ScaleMin(isub + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
            var qq = q.Slice(j / 2, 32);
            for (int l = 0; l < 32; l++)
            {
                y[j + l] = d1 * (qq[l] & 0xF) - min1;
                y[j + 32 + l] = d2 * (qq[l] >> 4) - min2;
            }
        }
    }

    // block_q5_K: as Q4_K plus u8 qh[32] holding each element's fifth bit.
    private static void Q5_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        float d = Half(block), dmin = Half(block[2..]);
        var scales = block.Slice(4, 12);
        var qh = block.Slice(16, QKK / 8);
        var ql = block.Slice(16 + QKK / 8, QKK / 2);
        for (int j = 0, isub = 0, bit = 0; j < QKK; j += 64, isub += 2, bit += 2)
        {
            ScaleMin(isub, scales, out int sc1, out int m1);
            ScaleMin(isub + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2;
            var qq = ql.Slice(j / 2, 32);
            for (int l = 0; l < 32; l++)
            {
                // Shifts, not branches: the high bits are random, so a branch mispredicts half the time (10x slower).
                y[j + l] = d1 * ((qq[l] & 0xF) | (((qh[l] >> bit) & 1) << 4)) - min1;
                y[j + 32 + l] = d2 * ((qq[l] >> 4) | (((qh[l] >> (bit + 1)) & 1) << 4)) - min2;
            }
        }
    }

    // block_q6_K: u8 ql[128] (low 4 bits), u8 qh[64] (high 2 bits), int8 scales[16], fp16 d; offset 32.
    private static void Q6_K(ReadOnlySpan<byte> block, Span<float> y)
    {
        var ql = block[..(QKK / 2)];
        var qh = block.Slice(QKK / 2, QKK / 4);
        var sc = MemoryMarshal.Cast<byte, sbyte>(block.Slice(QKK / 2 + QKK / 4, QKK / 16));
        float d = Half(block[(QKK / 2 + QKK / 4 + QKK / 16)..]);
        for (int n = 0; n < 2; n++)
        {
            var l4 = ql.Slice(n * 64, 64);
            var h2 = qh.Slice(n * 32, 32);
            var s = sc.Slice(n * 8, 8);
            var o = y.Slice(n * 128, 128);
            for (int l = 0; l < 32; l++)
            {
                int isub = l / 16;
                int q1 = ((l4[l] & 0xF) | (((h2[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((l4[l + 32] & 0xF) | (((h2[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((l4[l] >> 4) | (((h2[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((l4[l + 32] >> 4) | (((h2[l] >> 6) & 3) << 4)) - 32;
                o[l] = d * s[isub] * q1;
                o[l + 32] = d * s[isub + 2] * q2;
                o[l + 64] = d * s[isub + 4] * q3;
                o[l + 96] = d * s[isub + 6] * q4;
            }
        }
    }
}
