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
        fixed (float* p = x)
        {
            int len = 1;
            // Short butterflies within a vector's width stay scalar; wide ones pair whole vectors.
            for (; len < n && (len < 8 || !Vector256.IsHardwareAccelerated); len <<= 1)
                for (int i = 0; i < n; i += len << 1)
                    for (int j = i; j < i + len; j++)
                    {
                        float a = p[j], b = p[j + len];
                        p[j] = a + b;
                        p[j + len] = a - b;
                    }
            for (; len < n; len <<= 1)
                for (int i = 0; i < n; i += len << 1)
                    for (int j = i; j < i + len; j += 8)
                    {
                        var a = Vector256.Load(p + j);
                        var b = Vector256.Load(p + j + len);
                        (a + b).Store(p + j);
                        (a - b).Store(p + j + len);
                    }
            var scale = Vector256.Create(1f / MathF.Sqrt(n));
            int k = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; k + 8 <= n; k += 8) (Vector256.Load(p + k) * scale).Store(p + k);
            for (; k < n; k++) p[k] *= scale[0];
        }
    }
}
