namespace InferServe.Engine.Sampling;

/// <summary>
/// Per-request changes to a row of logits before sampling: logit_bias, and min_tokens masking end-of-sequence and stop
/// token ids. Applied to a copy (the engine's scratch row), so logprobs still report the model's own distribution, as vLLM does.
/// </summary>
internal static class LogitAdjustments
{
    public static bool Needed(GenerationRequest spec, int generated) =>
        spec.Sampling.LogitBias is { Count: > 0 } || generated < spec.MinTokens;

    public static void Apply(Span<float> logits, GenerationRequest spec, int generated, IReadOnlySet<int> eos)
    {
        if (spec.Sampling.LogitBias is { } bias)
            foreach (var (id, b) in bias)
                if ((uint)id < (uint)logits.Length) logits[id] += b;
        if (generated >= spec.MinTokens) return;
        if (!spec.IgnoreEos)
            foreach (var id in eos)
                if ((uint)id < (uint)logits.Length) logits[id] = float.NegativeInfinity;
        foreach (var id in spec.StopTokenIds)
            if ((uint)id < (uint)logits.Length) logits[id] = float.NegativeInfinity;
    }
}
