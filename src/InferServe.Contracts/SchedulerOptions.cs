namespace InferServe.Contracts;

public sealed record SchedulerOptions
{
    /// <summary>Token budget of one step (decode tokens plus prefill chunks).</summary>
    public int MaxBatchedTokens { get; init; } = 512;
    /// <summary>Sequences running at once.</summary>
    public int MaxSeqs { get; init; } = 64;
    /// <summary>Seconds of waiting that improve a request's priority by one level, so low priorities never starve.</summary>
    public double PriorityAgingSeconds { get; init; } = 10;
}
