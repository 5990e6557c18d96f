namespace InferServe.Workers;

/// <summary>Settings of a prefill or decode worker process.</summary>
public sealed class WorkerOptions
{
    /// <summary>"prefill" or "decode": what the gateway sends here.</summary>
    public string Role { get; set; } = "decode";
    /// <summary>Dense weight precision, reported so the gateway can refuse mixed workers.</summary>
    public string Weights { get; set; } = "fp32";
    public string KvDtype { get; set; } = "fp32";
    public string ServedModelName { get; set; } = "";
    /// <summary>Longest a decode worker waits for a lease's KV blocks before it recomputes the prompt itself.</summary>
    public TimeSpan PullTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
