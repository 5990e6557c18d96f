namespace InferServe.Metrics.Tests;

/// <summary>EngineMetrics exposes vLLM's metric set under the inferserve_ prefix (the default), all labelled with model_name.</summary>
public class EngineMetricsTests
{
    private const string M = "model_name=\"qwen2-0.5b \\\"instruct\\\"\"";

    public static TheoryData<string, string> Families => new()
    {
        { "inferserve_num_requests_running", "gauge" },
        { "inferserve_num_requests_waiting", "gauge" },
        { "inferserve_kv_cache_usage_perc", "gauge" },
        { "inferserve_prefix_cache_queries_total", "counter" },
        { "inferserve_prefix_cache_hits_total", "counter" },
        { "inferserve_num_preemptions_total", "counter" },
        { "inferserve_structured_output_budget_closes_total", "counter" },
        { "inferserve_prompt_tokens_total", "counter" },
        { "inferserve_generation_tokens_total", "counter" },
        { "inferserve_request_success_total", "counter" },
        { "inferserve_time_to_first_token_seconds", "histogram" },
        { "inferserve_inter_token_latency_seconds", "histogram" },
        { "inferserve_time_per_output_token_seconds", "histogram" },
        { "inferserve_e2e_request_latency_seconds", "histogram" },
        { "inferserve_request_queue_time_seconds", "histogram" },
        { "inferserve_request_inference_time_seconds", "histogram" },
        { "inferserve_request_prefill_time_seconds", "histogram" },
        { "inferserve_request_decode_time_seconds", "histogram" },
        { "inferserve_request_prompt_tokens", "histogram" },
        { "inferserve_request_generation_tokens", "histogram" },
        { "inferserve_cache_config_info", "gauge" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(Families))]
    public void ExposesFamily_WithTypeAndModelNameOnEverySample(string name, string type)
    {
        var (registry, _) = EngineMetricsSample.Create();
        var lines = registry.ToText().Split('\n');

        Assert.Contains($"# TYPE {name} {type}", lines);
        var samples = lines.Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + "_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(samples);
        Assert.All(samples, s => Assert.Contains(M, s));
    }

    [Fact(Timeout = 30_000)]
    public void ScrapeReflectsRecordedValues()
    {
        var (registry, _) = EngineMetricsSample.Create();
        var text = registry.ToText();

        Assert.Contains($"inferserve_num_requests_running{{{M}}} 3\n", text);   // callback
        Assert.Contains($"inferserve_num_requests_waiting{{{M}}} 2\n", text);   // set
        Assert.Contains($"inferserve_kv_cache_usage_perc{{{M}}} 0.25\n", text);
        Assert.Contains($"inferserve_prefix_cache_queries_total{{{M}}} 120\n", text);
        Assert.Contains($"inferserve_prefix_cache_hits_total{{{M}}} 64\n", text);
        Assert.Contains($"inferserve_num_preemptions_total{{{M}}} 1\n", text);
        Assert.Contains($"inferserve_structured_output_budget_closes_total{{{M}}} 1\n", text);
        Assert.Contains($"inferserve_prompt_tokens_total{{{M}}} 120\n", text);
        Assert.Contains($"inferserve_generation_tokens_total{{{M}}} 30\n", text);
        Assert.Contains($"inferserve_time_to_first_token_seconds_bucket{{{M},le=\"0.1\"}} 1\n", text);
        Assert.Contains($"inferserve_time_to_first_token_seconds_bucket{{{M},le=\"0.08\"}} 0\n", text);
        Assert.Contains($"inferserve_inter_token_latency_seconds_count{{{M}}} 30\n", text);
        Assert.Contains($"inferserve_time_per_output_token_seconds_count{{{M}}} 30\n", text);
        Assert.Contains($"inferserve_e2e_request_latency_seconds_sum{{{M}}} 4.2\n", text);
        Assert.Contains($"inferserve_request_generation_tokens_bucket{{{M},le=\"200\"}} 1\n", text);
        Assert.Contains($"inferserve_request_generation_tokens_bucket{{{M},le=\"500\"}} 2\n", text);
        Assert.Contains($"inferserve_request_queue_time_seconds_count{{{M}}} 1\n", text);
        Assert.Contains(
            $"inferserve_cache_config_info{{{M},block_size=\"16\",cache_dtype=\"int8\",num_gpu_blocks=\"4096\",num_cpu_blocks=\"0\",enable_prefix_caching=\"True\",gpu_memory_utilization=\"0.9\"}} 1\n",
            text);
    }

    [Fact(Timeout = 30_000)]
    public void RequestSuccess_HasAZeroSeriesForEveryKnownReason_AndCountsByReason()
    {
        var (registry, metrics) = EngineMetricsSample.Create();
        metrics.RequestFinished(FinishedReason.Abort, TimeSpan.Zero, 1, 0);
        metrics.RequestFinished("content_filter", TimeSpan.Zero, 1, 0);
        var text = registry.ToText();

        Assert.Contains($"inferserve_request_success_total{{{M},finished_reason=\"stop\"}} 1\n", text);
        Assert.Contains($"inferserve_request_success_total{{{M},finished_reason=\"length\"}} 1\n", text);
        Assert.Contains($"inferserve_request_success_total{{{M},finished_reason=\"abort\"}} 1\n", text);
        Assert.Contains($"inferserve_request_success_total{{{M},finished_reason=\"error\"}} 0\n", text);
        Assert.Contains($"inferserve_request_success_total{{{M},finished_reason=\"content_filter\"}} 1\n", text);
    }

    [Fact(Timeout = 30_000)]
    public void KvCacheUsage_IsClampedToZeroOne()
    {
        var registry = new MetricRegistry();
        var metrics = new EngineMetrics(registry, "m");
        metrics.SetKvCacheUsage(1.7);
        Assert.Contains("inferserve_kv_cache_usage_perc{model_name=\"m\"} 1\n", registry.ToText());
        metrics.SetKvCacheUsage(-0.1);
        Assert.Contains("inferserve_kv_cache_usage_perc{model_name=\"m\"} 0\n", registry.ToText());
    }

    [Fact(Timeout = 30_000)]
    public void Options_PrefixAndLegacyNameAndTokenBuckets()
    {
        var (registry, _) = EngineMetricsSample.Create(new EngineMetricsOptions { Prefix = "llm_", ExposeTimePerOutputToken = false, MaxModelLength = 1000 });
        var text = registry.ToText();

        Assert.DoesNotContain("inferserve_", text);
        Assert.Contains("# TYPE llm_prompt_tokens_total counter", text);
        Assert.DoesNotContain("time_per_output_token_seconds", text);
        Assert.Contains("llm_request_prompt_tokens_bucket{model_name=\"qwen2-0.5b \\\"instruct\\\"\",le=\"1000\"}", text);
        Assert.DoesNotContain("le=\"2000\"", text);
    }

    [Fact(Timeout = 30_000)]
    public void AVllmStyleColonPrefix_IsRefused_BecausePrometheusNetOnlyAcceptsUnderscoreNames() =>
        Assert.ThrowsAny<ArgumentException>(() => new EngineMetrics(new MetricRegistry(), "m", new EngineMetricsOptions { Prefix = "inferserve:" }));

    [Fact(Timeout = 30_000)]
    public void OneTwoFiveBuckets_MatchVllm()
    {
        Assert.Equal([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000], EngineMetricBuckets.OneTwoFive(4096).Take(11));
        Assert.Equal([1, 2, 5, 10, 20, 50, 100], EngineMetricBuckets.OneTwoFive(100));
    }

    [Fact(Timeout = 30_000)]
    public void PrefixCacheLookup_RejectsMoreHitsThanQueries() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineMetrics(new MetricRegistry(), "m").RecordPrefixCacheLookup(1, 2));
}
