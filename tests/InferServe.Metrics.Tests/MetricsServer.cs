using InferServe.TestSupport;

namespace InferServe.Metrics.Tests;

/// <summary>A Kestrel server on a loopback port serving a registry at /metrics.</summary>
internal sealed class MetricsServer(LoopbackServer server) : IAsyncDisposable
{
    public Uri BaseAddress => server.BaseAddress;

    public static async Task<MetricsServer> StartAsync(MetricRegistry registry, CancellationToken cancellationToken) =>
        new(await LoopbackServer.StartAsync(app => app.MapPrometheusMetrics("/metrics", registry), cancellationToken));

    public ValueTask DisposeAsync() => server.DisposeAsync();
}
