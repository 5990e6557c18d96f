namespace InferServe.Metrics.Tests;

/// <summary>A registry with EngineMetrics driven through a few requests, as the engine would.</summary>
internal static class EngineMetricsSample
{
    public const string Model = "qwen2-0.5b \"instruct\""; // a quote exercises label escaping end to end

    public static (MetricRegistry Registry, EngineMetrics Metrics) Create(EngineMetricsOptions? options = null)
    {
        var registry = new MetricRegistry();
        var metrics = new EngineMetrics(registry, Model, options);
        metrics.SetCacheConfig(new CacheConfigInfo(BlockSize: 16, CacheDtype: "int8", NumGpuBlocks: 4096, EnablePrefixCaching: true, GpuMemoryUtilization: 0.9));
        metrics.BindRunning(() => 3);
        metrics.SetWaiting(2);
        metrics.BindKvCacheUsage(() => 0.25);

        metrics.RequestScheduled(TimeSpan.FromMilliseconds(40));
        metrics.RecordPrefixCacheLookup(queriedTokens: 120, hitTokens: 64);
        metrics.RecordTokens(promptTokens: 120, generationTokens: 0);
        metrics.RecordFirstToken(TimeSpan.FromMilliseconds(85));
        for (int i = 0; i < 30; i++)
        {
            metrics.RecordTokens(0, 1);
            metrics.RecordInterTokenLatency(TimeSpan.FromMilliseconds(20 + i));
        }
        metrics.RecordPreemption();
        metrics.RecordStructuredOutputBudgetClose();
        metrics.RecordRequestPhases(TimeSpan.FromMilliseconds(45), TimeSpan.FromMilliseconds(900));
        metrics.RequestFinished(FinishedReason.Stop, TimeSpan.FromSeconds(1.2), promptTokens: 120, generationTokens: 31);
        metrics.RequestFinished(FinishedReason.Length, TimeSpan.FromSeconds(3), promptTokens: 10, generationTokens: 256);
        return (registry, metrics);
    }
}
