namespace InferServe.Engine.Kv;

/// <summary>In-place fast Walsh–Hadamard transform, scaled by 1/√n so it is orthonormal and its own inverse.</summary>
public static class Hadamard
{
    public static bool Supports(int n) => n >= 2 && (n & (n - 1)) == 0;

    public static void Transform(Span<float> x)
    {
        int n = x.Length;
        for (int len = 1; len < n; len <<= 1)
            for (int i = 0; i < n; i += len << 1)
                for (int j = i; j < i + len; j++)
                {
                    float a = x[j], b = x[j + len];
                    x[j] = a + b;
                    x[j + len] = a - b;
                }
        System.Numerics.Tensors.TensorPrimitives.Multiply(x, 1f / MathF.Sqrt(n), x);
    }
}
