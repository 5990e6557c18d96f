using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InferServe.Engine.Kv;

/// <summary>In-place fast Walsh–Hadamard transform, scaled by 1/√n so it is orthonormal and its own inverse.</summary>
public static class Hadamard
{
    public static bool Supports(int n) => n >= 2 && (n & (n - 1)) == 0;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Transform(Span<float> x)
    {
        int n = x.Length;
        if (Vector512.IsHardwareAccelerated && n % 16 == 0)
        {
            Transform512(x);
            return;
        }
        fixed (float* p = x)
        {
            int len = 1;
            // Short butterflies within a vector's width stay scalar; wide ones pair whole vectors.
            for (; len < n && (len < 8 || !Vector256.IsHardwareAccelerated); len <<= 1)
            {
                for (int i = 0; i < n; i += len << 1)
                {
                    for (int j = i; j < i + len; j++)
                    {
                        float a = p[j], b = p[j + len];
                        p[j] = a + b;
                        p[j + len] = a - b;
                    }
                }
            }

            for (; len < n; len <<= 1)
            {
                for (int i = 0; i < n; i += len << 1)
                {
                    for (int j = i; j < i + len; j += 8)
                    {
                        var a = Vector256.Load(p + j);
                        var b = Vector256.Load(p + j + len);
                        (a + b).Store(p + j);
                        (a - b).Store(p + j + len);
                    }
                }
            }

            var scale = Vector256.Create(1f / MathF.Sqrt(n));
            int k = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; k + 8 <= n; k += 8) (Vector256.Load(p + k) * scale).Store(p + k);
            for (; k < n; k++) p[k] *= scale[0];
        }
    }

    private static readonly Vector512<int> Lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    private static readonly Vector512<int> Swap1 = Lanes ^ Vector512.Create(1), Swap2 = Lanes ^ Vector512.Create(2), Swap4 = Lanes ^ Vector512.Create(4), Swap8 = Lanes ^ Vector512.Create(8);
    // +1 where the lane is its pair's first (a + b), -1 where it is the second (a - b).
    private static readonly Vector512<float> Sign1 = SignOf(1), Sign2 = SignOf(2), Sign4 = SignOf(4), Sign8 = SignOf(8);

    private static Vector512<float> SignOf(int span)
    {
        Span<float> s = stackalloc float[16];
        for (int j = 0; j < 16; j++) s[j] = (j & span) == 0 ? 1 : -1;
        return Vector512.Create<float>(s);
    }

    /// <summary>
    /// Butterflies of span 1, 2, 4 and 8 inside each 16-lane register (lane j pairs with j^span: y = x[j^span] ± x[j]),
    /// then whole-register butterflies for the longer spans.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Transform512(Span<float> x)
    {
        int n = x.Length;
        var scale = Vector512.Create(1f / MathF.Sqrt(n));
        fixed (float* p = x)
        {
            for (int k = 0; k < n; k += 16)
            {
                var v = Vector512.Load(p + k);
                v = Vector512.FusedMultiplyAdd(v, Sign1, Vector512.Shuffle(v, Swap1));
                v = Vector512.FusedMultiplyAdd(v, Sign2, Vector512.Shuffle(v, Swap2));
                v = Vector512.FusedMultiplyAdd(v, Sign4, Vector512.Shuffle(v, Swap4));
                v = Vector512.FusedMultiplyAdd(v, Sign8, Vector512.Shuffle(v, Swap8));
                (n == 16 ? v * scale : v).Store(p + k);
            }
            for (int len = 16; len < n; len <<= 1)
            {
                bool last = len << 1 == n;
                for (int i = 0; i < n; i += len << 1)
                {
                    for (int j = i; j < i + len; j += 16)
                    {
                        var a = Vector512.Load(p + j);
                        var b = Vector512.Load(p + j + len);
                        (last ? (a + b) * scale : a + b).Store(p + j);
                        (last ? (a - b) * scale : a - b).Store(p + j + len);
                    }
                }
            }
        }
    }
}
