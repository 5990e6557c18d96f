using InferServe.Contracts;
using InferServe.Metrics;

namespace InferServe.Workers;

/// <summary>KV transfer and lease metrics of a worker (prefix inferserve_).</summary>
public sealed class WorkerMetrics
{
    private static readonly double[] TransferBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private readonly Counter.Child _sentBytes, _receivedBytes, _sentBlocks, _receivedBlocks, _transferFailures;
    private readonly Histogram.Child _sendSeconds, _receiveSeconds;

    public WorkerMetrics(MetricRegistry registry, string role, Func<EngineStats?> stats, Func<(int Held, long Released, long Expired)> leases, Func<long> importFallbacks)
    {
        var bytes = registry.CreateCounter("inferserve_kv_transfer_bytes", "KV bytes moved between workers, as stored (codes plus per-token parameters).", "direction");
        _sentBytes = bytes.WithLabels("sent");
        _receivedBytes = bytes.WithLabels("received");
        var blocks = registry.CreateCounter("inferserve_kv_transfer_blocks", "KV blocks moved between workers.", "direction");
        _sentBlocks = blocks.WithLabels("sent");
        _receivedBlocks = blocks.WithLabels("received");
        var seconds = registry.CreateHistogram("inferserve_kv_transfer_seconds", "Time to move one request's KV blocks between workers.", TransferBuckets, "direction");
        _sendSeconds = seconds.WithLabels("sent");
        _receiveSeconds = seconds.WithLabels("received");
        _transferFailures = registry.CreateCounter("inferserve_kv_transfer_failures", "KV transfers that did not complete.", "direction").WithLabels("received");
        registry.CreateCallbackGauge("inferserve_kv_leases_held", "Prompt KV leases waiting for pickup by a decode worker.", () => leases().Held);
        registry.CreateCallbackGauge("inferserve_kv_leases_released", "Leases ended by pickup or release (cumulative).", () => leases().Released);
        registry.CreateCallbackGauge("inferserve_kv_leases_expired", "Leases freed because nobody picked them up in time (cumulative).", () => leases().Expired);
        registry.CreateCallbackGauge("inferserve_kv_free_blocks", "KV blocks not referenced by any sequence or lease.", () => stats()?.FreeBlocks ?? 0);
        registry.CreateCallbackGauge("inferserve_kv_total_blocks", "KV blocks in the pool.", () => stats()?.TotalBlocks ?? 0);
        registry.CreateCallbackGauge("inferserve_kv_import_fallbacks", "Decodes whose KV transfer failed and whose prompt was recomputed here (cumulative).", () => importFallbacks());
        registry.CreateInfo("inferserve_worker_info", "This process's role.", "role").Set(role);
    }

    public void Sent(long bytes, int blocks, TimeSpan elapsed)
    {
        _sentBytes.Inc(bytes);
        _sentBlocks.Inc(blocks);
        _sendSeconds.Observe(elapsed);
    }

    public void Received(long bytes, int blocks, TimeSpan elapsed)
    {
        _receivedBytes.Inc(bytes);
        _receivedBlocks.Inc(blocks);
        _receiveSeconds.Observe(elapsed);
    }

    public void TransferFailed() => _transferFailures.Inc();
}
