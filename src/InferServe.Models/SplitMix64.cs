namespace InferServe.Models;

/// <summary>SplitMix64: a tiny, fast generator whose streams are identical on every platform.</summary>
public static class SplitMix64
{
    public static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public static double NextDouble(ref ulong state) => (Next(ref state) >> 11) * (1.0 / (1UL << 53));
}
