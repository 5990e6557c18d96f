using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Prometheus;

namespace InferServe.Metrics;

public static class PrometheusEndpointExtensions
{
    /// <summary>
    /// Serves <paramref name="registry"/> at <paramref name="pattern"/> with prometheus-net's exporter, always in the
    /// text format 0.0.4: OpenMetrics negotiation is off so every scraper sees the same names (counters keep "_total").
    /// </summary>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints,
        string pattern, MetricRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(registry);
        return endpoints.MapMetrics(settings =>
        {
            settings.Registry = registry.Collectors;
            settings.EnableOpenMetrics = false;
        }, pattern);
    }

    /// <summary>
    /// HTTP request metrics (http_requests_received_total, http_request_duration_seconds, http_requests_in_progress)
    /// from prometheus-net.AspNetCore, recorded into <paramref name="registry"/>. Call after UseRouting so the
    /// endpoint label is known.
    /// </summary>
    public static IApplicationBuilder UsePrometheusHttpMetrics(this IApplicationBuilder app, MetricRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(registry);
        return app.UseHttpMetrics(options => options.SetMetricFactory(registry.Factory));
    }
}
