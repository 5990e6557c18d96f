using System.Buffers;
using InferServe.Contracts;

namespace InferServe.Engine.Sampling;

/// <summary>
/// Per-request changes to a row of logits before sampling: allowed_token_ids, logit_bias, and min_tokens masking
/// end-of-sequence and stop token ids. Applied to a copy (the engine's scratch row), so logprobs still report the model's own distribution, as vLLM does.
/// </summary>
internal static class LogitAdjustments
{
    public static bool Needed(GenerationRequest spec, int generated) =>
        spec.Sampling.LogitBias is { Count: > 0 } || spec.Sampling.AllowedTokenIds is { Count: > 0 } || generated < spec.MinTokens;

    public static void Apply(Span<float> logits, GenerationRequest spec, int generated, IReadOnlySet<int> eos)
    {
        if (spec.Sampling.AllowedTokenIds is { Count: > 0 } allowed) KeepOnly(logits, allowed);
        if (spec.Sampling.LogitBias is { } bias)
        {
            foreach (var (id, b) in bias)
                if ((uint)id < (uint)logits.Length) logits[id] += b;
        }

        if (generated >= spec.MinTokens) return;
        if (!spec.IgnoreEos)
        {
            foreach (var id in eos)
                if ((uint)id < (uint)logits.Length) logits[id] = float.NegativeInfinity;
        }

        foreach (var id in spec.StopTokenIds)
            if ((uint)id < (uint)logits.Length) logits[id] = float.NegativeInfinity;
    }

    /// <summary>Every logit but the allowed ones to -inf; pooled, since it runs every step of such a request.</summary>
    private static void KeepOnly(Span<float> logits, IReadOnlyList<int> allowed)
    {
        var kept = ArrayPool<float>.Shared.Rent(allowed.Count);
        for (int i = 0; i < allowed.Count; i++) kept[i] = (uint)allowed[i] < (uint)logits.Length ? logits[allowed[i]] : float.NegativeInfinity;
        logits.Fill(float.NegativeInfinity);
        for (int i = 0; i < allowed.Count; i++)
            if ((uint)allowed[i] < (uint)logits.Length) logits[allowed[i]] = kept[i];
        ArrayPool<float>.Shared.Return(kept);
    }
}
