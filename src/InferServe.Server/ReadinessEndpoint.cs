using System.Text.Json;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>
/// GET /health (the process answers) and GET /ready (the model is loaded and, behind a router, a decode worker
/// answers; 200 with "degraded" naming what is missing while requests can still be served).
/// </summary>
internal sealed class ReadinessEndpoint(ModelHost host)
{
    public static Task HealthAsync(HttpContext ctx) => Json(ctx, 200, "{\"status\":\"ok\"}");

    public Task ReadyAsync(HttpContext ctx)
    {
        string degraded = "";
        if (host.Current?.Service is IReadinessProbe probe && !probe.IsReady(out degraded))
            return ErrorWriter.WriteAsync(ctx, 503, "Not ready: " + degraded, null, null, "workers_unavailable");
        if (host.IsReady)
            return Json(ctx, 200, degraded.Length == 0 ? "{\"status\":\"ready\"}" : Degraded(degraded));
        return host.LoadError is { } e ? ErrorWriter.WriteAsync(ctx, 503, "The model failed to load: " + WithoutModelDirectory(e.Message), null, null, "model_load_failed")
            : ErrorWriter.WriteAsync(ctx, 503, "The model is still loading.", null, null, "model_loading");
    }

    /// <summary>Load errors name files under the model's path; the answer names the model instead (no server directories).</summary>
    private string WithoutModelDirectory(string message)
    {
        var model = host.ModelPath;
        if (string.IsNullOrEmpty(model)) return message;
        string root = ModelsEndpoint.Root(model, host.ServedModelName);
        return message.Replace(Path.GetFullPath(model).TrimEnd('/'), root).Replace(model.TrimEnd('/'), root);
    }

    private static string Degraded(string what)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, ErrorWriter.JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("status", "ready");
            w.WriteString("degraded", what);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static Task Json(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(json);
    }
}
