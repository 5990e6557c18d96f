namespace InferServe.Metrics.Tests;

/// <summary>MapPrometheusMetrics serves the registry over HTTP (prometheus-net's exporter) in the 0.0.4 text format.</summary>
public class EndpointTests
{
    [Fact(Timeout = 60_000)]
    public async Task MetricsEndpoint_ServesTextFormat004WithTheRegistryContents()
    {
        var (registry, _) = EngineMetricsSample.Create();

        var (contentType, body) = await ScrapeAsync(registry, accept: null);

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", contentType);
        Assert.Equal(registry.ToText(), body);
    }

    [Fact(Timeout = 60_000)]
    public async Task MetricsEndpoint_AnswersOpenMetricsRequestsWithTheSameText004()
    {
        // Counters keep their "_total" names only in the 0.0.4 format; a scraper asking for OpenMetrics gets 0.0.4 too.
        var (registry, _) = EngineMetricsSample.Create();

        var (contentType, body) = await ScrapeAsync(registry, accept: "application/openmetrics-text;version=1.0.0");

        Assert.Equal(MetricRegistry.ContentType, contentType);
        Assert.Contains("\n# TYPE inferserve_generation_tokens_total counter\n", body);
    }

    /// <summary>GET /metrics from a real Kestrel server; the status must be 200.</summary>
    private static async Task<(string ContentType, string Body)> ScrapeAsync(MetricRegistry registry, string? accept)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await MetricsServer.StartAsync(registry, ct);
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (accept is not null) request.Headers.Accept.ParseAdd(accept);

        using var response = await http.SendAsync(request, ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return (response.Content.Headers.ContentType!.ToString(), await response.Content.ReadAsStringAsync(ct));
    }
}
