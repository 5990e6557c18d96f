using InferServe.Contracts.Hosting;
using InferServe.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>The gateway's HTTP routes; a worker serves only the probes and /metrics.</summary>
internal static class ServingRoutes
{
    /// <summary>Call after the error-mapping and API-key middleware: routing starts here.</summary>
    public static void Map(WebApplication app, ServerSettings settings, ModelHost host, MetricRegistry registry,
        KestrelEndpoints endpoints, ChatTemplateCache chatTemplates, ILogger log)
    {
        app.UseRouting();
        // After routing, so the endpoint label names the route rather than the raw path.
        app.UsePrometheusHttpMetrics(registry);
        // The h2c port belongs to the gRPC API: the OpenAI HTTP routes (and their API-key check) are not served there.
        app.Use((ctx, next) => endpoints.IsGrpcPort(ctx) && ctx.GetEndpoint()?.Metadata.GetMetadata<HttpGatewayRoute>() is not null
            ? Task.FromResult(ctx.Response.StatusCode = 404)
            : next(ctx));

        var readiness = new ReadinessEndpoint(host);
        var routes = new List<IEndpointConventionBuilder>
        {
            app.MapGet("/health", ReadinessEndpoint.HealthAsync),
            app.MapGet("/ready", readiness.ReadyAsync),
            app.MapPrometheusMetrics("/metrics", registry),
        };
        if (!settings.IsWorker)
        {
            var models = new ModelsEndpoint(host);
            var generation = new GenerationEndpoint(host, chatTemplates, log);
            var tokenizer = new TokenizerEndpoints(host, chatTemplates);
            var responses = new Responses.ResponsesEndpoint(host, chatTemplates, new Responses.ResponseStore(settings.ResponseStore, TimeProvider.System, registry), log);
            routes.AddRange(
            [
                app.MapGet("/v1/models", models.ListAsync),
                app.MapGet("/v1/models/{id}", models.GetAsync),
                app.MapPost("/v1/completions", (HttpContext ctx) => generation.HandleAsync(ctx, ApiKind.Completions)),
                app.MapPost("/v1/chat/completions", (HttpContext ctx) => generation.HandleAsync(ctx, ApiKind.Chat)),
                app.MapPost("/v1/responses", responses.CreateAsync),
                app.MapGet("/v1/responses/{id}", responses.GetAsync),
                app.MapDelete("/v1/responses/{id}", responses.DeleteAsync),
                app.MapPost("/tokenize", tokenizer.TokenizeAsync),
                app.MapPost("/detokenize", tokenizer.DetokenizeAsync),
                app.MapGet("/version", TokenizerEndpoints.VersionAsync),
            ]);
        }
        foreach (var r in routes) r.WithMetadata(HttpGatewayRoute.Instance);
    }

    /// <summary>Marks the gateway's own routes, so they can be refused on the gRPC port.</summary>
    private sealed class HttpGatewayRoute
    {
        public static readonly HttpGatewayRoute Instance = new();
    }
}
