using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InferServe.Engine.Kv;

/// <summary>Vectorized integer-code → float conversions for decoding KV blocks.</summary>
internal static unsafe class Widen
{
    /// <summary>dst[i] = src[i] for byte codes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BytesToFloats(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int n = src.Length, i = 0;
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            if (Vector256.IsHardwareAccelerated)
            {
                for (; i + 32 <= n; i += 32)
                {
                    var bytes = Vector256.Load(s + i);
                    var (lo, hi) = Vector256.Widen(bytes);
                    Store(lo, d + i);
                    Store(hi, d + i + 16);
                }
            }

            for (; i < n; i++) d[i] = s[i];
        }
    }

    /// <summary>
    /// Each of <paramref name="rows"/> rows of width/2 packed bytes becomes width floats: the low
    /// nibbles, then the high nibbles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void NibblesToFloats(ReadOnlySpan<byte> packed, int rows, int width, Span<float> dst)
    {
        int half = width / 2;
        fixed (byte* s = packed)
        fixed (float* d = dst)
        {
            for (int r = 0; r < rows; r++)
            {
                byte* row = s + r * half;
                float* lo = d + r * width, hi = lo + half;
                int k = 0;
                if (Vector128.IsHardwareAccelerated)
                {
                    for (; k + 16 <= half; k += 16)
                    {
                        var b = Vector128.Load(row + k);
                        var low = b & Vector128.Create((byte)0x0F);
                        var high = Vector128.ShiftRightLogical(b, 4);
                        Store16(low, lo + k);
                        Store16(high, hi + k);
                    }
                }

                for (; k < half; k++)
                {
                    lo[k] = row[k] & 0x0F;
                    hi[k] = row[k] >> 4;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<ushort> v, float* dst)
    {
        var (a, b) = Vector256.Widen(v);
        Vector256.ConvertToSingle(a.AsInt32()).Store(dst);
        Vector256.ConvertToSingle(b.AsInt32()).Store(dst + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store16(Vector128<byte> v, float* dst)
    {
        var (a, b) = Vector128.Widen(v);
        var (a0, a1) = Vector128.Widen(a);
        var (b0, b1) = Vector128.Widen(b);
        Vector128.ConvertToSingle(a0.AsInt32()).Store(dst);
        Vector128.ConvertToSingle(a1.AsInt32()).Store(dst + 4);
        Vector128.ConvertToSingle(b0.AsInt32()).Store(dst + 8);
        Vector128.ConvertToSingle(b1.AsInt32()).Store(dst + 12);
    }
}
