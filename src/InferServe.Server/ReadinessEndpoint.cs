using InferServe.Engine;
using InferServe.Engine.Hosting;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>GET /health (the process answers) and GET /ready (the model is loaded and, behind a router, workers answer).</summary>
internal sealed class ReadinessEndpoint(EngineHost host)
{
    public static Task HealthAsync(HttpContext ctx) => Json(ctx, 200, "{\"status\":\"ok\"}");

    public Task ReadyAsync(HttpContext ctx) =>
        host.Current?.Service is IReadinessProbe probe && !probe.IsReady(out var reason)
            ? ErrorWriter.WriteAsync(ctx, 503, "Not ready: " + reason, null, null, "workers_unavailable")
        : host.IsReady ? Json(ctx, 200, "{\"status\":\"ready\"}")
        : host.LoadError is { } e ? ErrorWriter.WriteAsync(ctx, 503, "The model failed to load: " + e.Message, null, null, "model_load_failed")
        : ErrorWriter.WriteAsync(ctx, 503, "The model is still loading.", null, null, "model_loading");

    private static Task Json(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(json);
    }
}
