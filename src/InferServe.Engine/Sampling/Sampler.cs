using System.Numerics.Tensors;
using InferServe.Contracts;
using InferServe.Models;

namespace InferServe.Engine.Sampling;

/// <summary>Token history a sequence contributes to penalties.</summary>
public interface IPenaltyContext
{
    ReadOnlySpan<int> PromptTokens { get; }
    /// <summary>Generated token ids and their counts.</summary>
    IReadOnlyDictionary<int, int> OutputCounts { get; }
}

/// <summary>
/// Picks the next token from one row of logits: penalties, temperature, top-k, top-p, min-p. Each
/// sequence owns its random state, so a seeded request samples identically whatever batch it lands
/// in. Scratch buffers are reused across calls; the engine loop owns one sampler.
/// </summary>
public sealed class Sampler
{
    private float[] _work = [];
    private int[] _order = [];
    private readonly HashSet<int> _seen = [];
    private readonly Comparison<int> _byProbabilityDescending;

    public Sampler() => _byProbabilityDescending = (a, b) => _work[b].CompareTo(_work[a]);

    public static int ArgMax(ReadOnlySpan<float> logits) => TensorPrimitives.IndexOfMax(logits);

    /// <param name="allowed">A grammar's token mask (bit i: token i allowed), or empty for no constraint.</param>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, ref ulong rngState, IPenaltyContext? history = null, ReadOnlySpan<ulong> allowed = default)
    {
        if (!p.HasPenalties && p.IsGreedy && allowed.IsEmpty) return ArgMax(logits);
        int v = logits.Length;
        if (_work.Length < v)
        {
            _work = new float[v];
            _order = new int[v];
        }
        var work = _work.AsSpan(0, v);
        logits.CopyTo(work);
        if (!allowed.IsEmpty) ApplyMask(work, allowed);
        if (p.HasPenalties && history is not null) ApplyPenalties(work, p, history);
        if (p.IsGreedy) return ArgMax(work);

        TensorPrimitives.Divide(work, p.Temperature, work);
        TensorPrimitives.SoftMax(work, work);
        int n = Candidates(work, p);
        var order = _order.AsSpan(0, n);
        float total = 0;
        foreach (var i in order) total += work[i];
        float r = (float)(SplitMix64.NextDouble(ref rngState) * total);
        foreach (var i in order)
        {
            r -= work[i];
            if (r <= 0) return i;
        }
        return order[^1];
    }

    /// <summary>Disallowed tokens get -inf, so every later step (penalties, softmax, cuts) ignores them.</summary>
    private static void ApplyMask(Span<float> logits, ReadOnlySpan<ulong> allowed)
    {
        for (int w = 0; w < allowed.Length; w++)
        {
            ulong bits = allowed[w];
            if (bits == ulong.MaxValue) continue;
            int start = w * 64, n = Math.Min(64, logits.Length - start);
            if (n <= 0) break;
            if (bits == 0)
            {
                logits.Slice(start, n).Fill(float.NegativeInfinity);
                continue;
            }
            for (int j = 0; j < n; j++)
                if ((bits & (1UL << j)) == 0) logits[start + j] = float.NegativeInfinity;
        }
    }

    /// <summary>Fills _order with the surviving candidates, most probable first; returns their count.</summary>
    private int Candidates(Span<float> probs, SamplingParams p)
    {
        int v = probs.Length;
        float maxP = TensorPrimitives.Max(probs);
        // Tokens below this share of the top probability cannot matter for any cut we apply.
        float floor = Math.Max(p.MinP * maxP, maxP * 1e-9f);
        int n = 0;
        for (int i = 0; i < v; i++)
            if (probs[i] >= floor) _order[n++] = i;
        var order = _order.AsSpan(0, n);
        order.Sort(_byProbabilityDescending);
        int keep = p.TopK > 0 ? Math.Min(p.TopK, n) : n;
        if (p.TopP < 1f)
        {
            float cumulative = 0;
            for (int i = 0; i < keep; i++)
            {
                cumulative += probs[order[i]];
                if (cumulative >= p.TopP)
                {
                    keep = i + 1;
                    break;
                }
            }
        }
        return Math.Max(1, keep);
    }

    private void ApplyPenalties(Span<float> logits, SamplingParams p, IPenaltyContext history)
    {
        if (p.RepetitionPenalty != 1f)
        {
            _seen.Clear();
            foreach (var t in history.PromptTokens) _seen.Add(t);
            foreach (var t in history.OutputCounts.Keys) _seen.Add(t);
            foreach (var t in _seen)
            {
                if ((uint)t < (uint)logits.Length)
                    logits[t] = logits[t] > 0 ? logits[t] / p.RepetitionPenalty : logits[t] * p.RepetitionPenalty;
            }
        }
        if (p.PresencePenalty != 0f || p.FrequencyPenalty != 0f)
        {
            foreach (var (t, count) in history.OutputCounts)
            {
                if ((uint)t < (uint)logits.Length)
                    logits[t] -= p.PresencePenalty + p.FrequencyPenalty * count;
            }
        }
    }

    /// <summary>Log-probability of <paramref name="token"/> under the raw logits, plus the <paramref name="top"/> most likely tokens.</summary>
    public TokenLogprob Logprobs(ReadOnlySpan<float> logits, int token, int top)
    {
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        float logZ = max + (float)Math.Log(sum);
        var alternatives = new List<TokenAlternative>(top);
        if (top > 0)
        {
            // Partial selection: top is small (≤ 20), vocabularies are large.
            Span<int> best = stackalloc int[top];
            int count = 0;
            for (int i = 0; i < logits.Length; i++)
            {
                if (count == top && logits[i] <= logits[best[count - 1]]) continue;
                int pos = count < top ? count++ : count - 1;
                while (pos > 0 && logits[best[pos - 1]] < logits[i])
                {
                    best[pos] = best[pos - 1];
                    pos--;
                }
                best[pos] = i;
            }
            for (int i = 0; i < count; i++) alternatives.Add(new TokenAlternative(best[i], logits[best[i]] - logZ));
        }
        return new TokenLogprob(token, logits[token] - logZ, alternatives);
    }
}
