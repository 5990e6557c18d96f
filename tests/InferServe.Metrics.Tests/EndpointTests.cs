namespace InferServe.Metrics.Tests;

/// <summary>MapPrometheusMetrics serves the registry over HTTP (prometheus-net's exporter) in the 0.0.4 text format.</summary>
public class EndpointTests
{
    [Fact(Timeout = 60_000)]
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

    [Fact(Timeout = 60_000)]
    public async Task MetricsEndpoint_AnswersOpenMetricsRequestsWithTheSameText004()
    {
        // Counters keep their "_total" names only in the 0.0.4 format; a scraper asking for OpenMetrics gets 0.0.4 too.
        var ct = TestContext.Current.CancellationToken;
        var (registry, _) = EngineMetricsSample.Create();
        await using var server = await MetricsServer.StartAsync(registry, ct);
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0");

        using var response = await http.SendAsync(request, ct);

        Assert.Equal(MetricRegistry.ContentType, response.Content.Headers.ContentType!.ToString());
        Assert.Contains("\n# TYPE inferserve_generation_tokens_total counter\n", await response.Content.ReadAsStringAsync(ct));
    }
}
