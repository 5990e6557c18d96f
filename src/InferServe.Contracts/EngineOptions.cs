
namespace InferServe.Contracts;

public sealed record EngineOptions
{
    public SchedulerOptions Scheduler { get; init; } = new();
    /// <summary>Requests that may wait for admission; beyond it submissions are rejected (HTTP 429).</summary>
    public int MaxQueue { get; init; } = 1024;
    /// <summary>Part of every prefix-cache hash: KV from another model must never be reused.</summary>
    public string CacheSaltBase { get; init; } = "";
    /// <summary>How long a remote prefill's KV blocks wait for pickup before they are freed.</summary>
    public TimeSpan KvLeaseTime { get; init; } = TimeSpan.FromSeconds(30);
}
