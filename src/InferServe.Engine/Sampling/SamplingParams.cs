namespace InferServe.Engine.Sampling;

public sealed record SamplingParams
{
    /// <summary>0 means greedy.</summary>
    public float Temperature { get; init; } = 1f;
    public float TopP { get; init; } = 1f;
    /// <summary>0 or negative disables top-k.</summary>
    public int TopK { get; init; }
    public float MinP { get; init; }
    public ulong? Seed { get; init; }

    public bool IsGreedy => Temperature <= 0 || TopK == 1;
}
