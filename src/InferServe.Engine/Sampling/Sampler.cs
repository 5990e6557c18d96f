using System.Numerics.Tensors;

namespace InferServe.Engine.Sampling;

/// <summary>
/// Picks the next token from one row of logits. Each sequence owns its random state, so a seeded
/// request samples identically whatever batch it lands in. Scratch buffers are reused across calls.
/// </summary>
public sealed class Sampler
{
    private float[] _probs = [];
    private int[] _order = [];

    public static int ArgMax(ReadOnlySpan<float> logits) => TensorPrimitives.IndexOfMax(logits);

    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, ref ulong rngState)
    {
        if (p.IsGreedy) return ArgMax(logits);
        int v = logits.Length;
        if (_probs.Length < v)
        {
            _probs = new float[v];
            _order = new int[v];
        }
        var probs = _probs.AsSpan(0, v);
        TensorPrimitives.Divide(logits, p.Temperature, probs);
        TensorPrimitives.SoftMax(probs, probs);

        // Candidates sorted by probability, cut by top-k, top-p and min-p.
        var order = _order.AsSpan(0, v);
        for (int i = 0; i < v; i++) order[i] = i;
        int k = p.TopK > 0 ? Math.Min(p.TopK, v) : v;
        var probsArr = _probs;
        order.Sort((a, b) => probsArr[b].CompareTo(probsArr[a]));
        float maxP = probs[order[0]];
        float cumulative = 0;
        int n = 0;
        for (; n < k; n++)
        {
            float pr = probs[order[n]];
            if (n > 0 && pr < p.MinP * maxP) break;
            cumulative += pr;
            if (cumulative >= p.TopP) { n++; break; }
        }
        float total = 0;
        for (int i = 0; i < n; i++) total += probs[order[i]];
        float r = (float)(NextDouble(ref rngState) * total);
        for (int i = 0; i < n; i++)
        {
            r -= probs[order[i]];
            if (r <= 0) return order[i];
        }
        return order[n - 1];
    }

    /// <summary>SplitMix64: tiny, fast, and reproducible across platforms.</summary>
    public static double NextDouble(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
