namespace InferServe.Metrics;

public sealed class EngineMetricsOptions
{
    /// <summary>
    /// Prefix of every metric name. "inferserve:" mirrors vLLM's "vllm:" so dashboards map by replacing the prefix.
    /// Note promtool's linter flags ':' in names (they are reserved for recording rules); Prometheus itself accepts them.
    /// Use "inferserve_" for a lint-clean exposition.
    /// </summary>
    public string Prefix { get; init; } = EngineMetrics.DefaultPrefix;

    /// <summary>Context length; bounds the 1-2-5 buckets of request_prompt_tokens / request_generation_tokens.</summary>
    public int MaxModelLength { get; init; } = 8192;

    /// <summary>Also expose vLLM's older name time_per_output_token_seconds, observing the same values as inter_token_latency_seconds.</summary>
    public bool ExposeTimePerOutputToken { get; init; } = true;
}
