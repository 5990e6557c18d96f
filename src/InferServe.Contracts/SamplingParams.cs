namespace InferServe.Contracts;

public sealed record SamplingParams
{
    /// <summary>0 means greedy.</summary>
    public float Temperature { get; init; } = 1f;
    public float TopP { get; init; } = 1f;
    /// <summary>0 or negative disables top-k.</summary>
    public int TopK { get; init; }
    public float MinP { get; init; }
    /// <summary>Multiplicative penalty on tokens seen in prompt or output (1 disables).</summary>
    public float RepetitionPenalty { get; init; } = 1f;
    /// <summary>Subtracted once from the logit of every token already generated.</summary>
    public float PresencePenalty { get; init; }
    /// <summary>Subtracted per occurrence from the logit of generated tokens.</summary>
    public float FrequencyPenalty { get; init; }
    public ulong? Seed { get; init; }
    /// <summary>Added to a token's logit before sampling (OpenAI logit_bias, -100..100); null or empty for none.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    /// <summary>Only these token ids may be sampled (vLLM allowed_token_ids); null allows the whole vocabulary.</summary>
    public IReadOnlyList<int>? AllowedTokenIds { get; init; }

    public bool IsGreedy => Temperature <= 0 || TopK == 1;
    public bool HasPenalties => RepetitionPenalty != 1f || PresencePenalty != 0f || FrequencyPenalty != 0f;
}
