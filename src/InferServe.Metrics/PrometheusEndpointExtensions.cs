using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace InferServe.Metrics;

public static class PrometheusEndpointExtensions
{
    /// <summary>
    /// Serves <paramref name="registry"/> at <paramref name="pattern"/> (GET) in the text exposition format 0.0.4.
    /// The text is written straight into the response PipeWriter: no intermediate string or array.
    /// </summary>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints,
        string pattern, MetricRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(registry);
        return endpoints.MapGet(pattern, async context =>
        {
            context.Response.ContentType = MetricRegistry.ContentType;
            context.Response.Headers.CacheControl = "no-store";
            registry.WriteTo(context.Response.BodyWriter);
            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        });
    }
}
