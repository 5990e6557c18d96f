namespace InferServe.Metrics.Tests;

/// <summary>MapPrometheusMetrics serves the registry over HTTP in the 0.0.4 text format.</summary>
public class EndpointTests
{
    [Fact]
    public async Task MetricsEndpoint_ServesTextFormat004WithTheRegistryContents()
    {
        var ct = TestContext.Current.CancellationToken;
        var (registry, _) = EngineMetricsSample.Create();
        await using var server = await MetricsServer.StartAsync(registry, ct);
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.GetAsync("/metrics", ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal(registry.ToText(), await response.Content.ReadAsStringAsync(ct));
    }
}
