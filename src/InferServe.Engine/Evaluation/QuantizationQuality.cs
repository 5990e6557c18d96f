using System.Numerics.Tensors;
using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;

namespace InferServe.Engine.Evaluation;

/// <summary>How closely a variant (quantized weights or KV) tracks a baseline's next-token distributions.</summary>
public sealed record QualityReport(string Variant, int Positions, double Top1Agreement, double MeanKlDivergence, double FreeRunTokenMatch);

/// <summary>
/// Teacher-forced comparison: the baseline generates greedily; the variant is fed the same tokens, and
/// at every position we compare argmax (top-1 agreement) and KL(baseline ‖ variant). A free-running
/// greedy continuation of the variant also reports the fraction of tokens identical to the baseline's.
/// </summary>
public static class QuantizationQuality
{
    public sealed record Trace(int[] Prompt, int[] Generated, float[][] Logits);

    public static Trace Baseline(ModelInstance model, int[] prompt, int tokens)
    {
        using var seq = new SequenceRunner(model);
        var logits = new List<float[]>();
        var generated = new List<int>();
        var row = seq.Append(prompt).ToArray();
        for (int i = 0; i < tokens; i++)
        {
            logits.Add(row);
            int next = Sampler.ArgMax(row);
            generated.Add(next);
            if (i + 1 < tokens) row = seq.Append([next]).ToArray();
        }
        return new Trace(prompt, generated.ToArray(), logits.ToArray());
    }

    public static QualityReport Compare(string variant, ModelInstance model, IReadOnlyList<Trace> baselines)
    {
        long positions = 0, agree = 0, freeMatch = 0, freeTotal = 0;
        double kl = 0;
        foreach (var b in baselines)
        {
            var one = new int[1];
            using (var seq = new SequenceRunner(model))
            {
                var row = seq.Append(b.Prompt);
                for (int i = 0; i < b.Generated.Length; i++)
                {
                    if (Sampler.ArgMax(row) == Sampler.ArgMax(b.Logits[i])) agree++;
                    kl += KlDivergence(b.Logits[i], row);
                    positions++;
                    one[0] = b.Generated[i];
                    if (i + 1 < b.Generated.Length) row = seq.Append(one);
                }
            }
            using (var free = new SequenceRunner(model))
            {
                int next = Sampler.ArgMax(free.Append(b.Prompt));
                for (int i = 0; i < b.Generated.Length; i++)
                {
                    if (next == b.Generated[i]) freeMatch++;
                    freeTotal++;
                    if (i + 1 < b.Generated.Length) next = Sampler.ArgMax(free.Append([next]));
                }
            }
        }
        return new QualityReport(variant, (int)positions, (double)agree / positions, kl / positions, (double)freeMatch / freeTotal);
    }

    /// <summary>KL(p ‖ q) for two logit vectors, in nats.</summary>
    public static double KlDivergence(ReadOnlySpan<float> pLogits, ReadOnlySpan<float> qLogits)
    {
        double pMax = TensorPrimitives.Max(pLogits), qMax = TensorPrimitives.Max(qLogits), pSum = 0, qSum = 0;
        for (int i = 0; i < pLogits.Length; i++)
        {
            pSum += Math.Exp(pLogits[i] - pMax);
            qSum += Math.Exp(qLogits[i] - qMax);
        }
        double pLogZ = pMax + Math.Log(pSum), qLogZ = qMax + Math.Log(qSum), kl = 0;
        for (int i = 0; i < pLogits.Length; i++)
        {
            double lp = pLogits[i] - pLogZ, lq = qLogits[i] - qLogZ;
            kl += Math.Exp(lp) * (lp - lq);
        }
        return Math.Max(0, kl);
    }

    /// <summary>Story openings for stories-style models; any text works for other models.</summary>
    public static readonly string[] Prompts =
    [
        "Once upon a time, Tom had a dog", "One day, a little girl named Sue", "The sun was shining and the birds",
        "Lily and Ben went to the park", "There was a big red ball", "Mom said it was time for bed",
        "A small cat lived in a house", "The boy wanted to fly his kite", "In the forest, a tiny bird",
        "Anna loved to paint with her", "The old man had a garden", "It was a rainy day and Max",
        "Sam found a shiny rock", "The little fish swam to", "Grandma baked a cake for",
        "Tim and his friend built a", "A happy duck lived by the", "The princess looked out of the",
        "Once there was a brave knight", "Sara opened the box and saw",
    ];
}
