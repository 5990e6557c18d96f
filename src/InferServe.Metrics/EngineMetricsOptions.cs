namespace InferServe.Metrics;

public sealed class EngineMetricsOptions
{
    /// <summary>
    /// Prefix of every metric name. "inferserve_" stands for vLLM's "vllm:", so dashboards map by replacing the prefix.
    /// A ':' is not possible: prometheus-net (8.x) only accepts [a-zA-Z_][a-zA-Z0-9_]* names.
    /// </summary>
    public string Prefix { get; init; } = EngineMetrics.DefaultPrefix;

    /// <summary>Context length; bounds the 1-2-5 buckets of request_prompt_tokens / request_generation_tokens.</summary>
    public int MaxModelLength { get; init; } = 8192;

    /// <summary>Also expose vLLM's older name time_per_output_token_seconds, observing the same values as inter_token_latency_seconds.</summary>
    public bool ExposeTimePerOutputToken { get; init; } = true;
}
