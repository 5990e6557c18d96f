using System.Text.Json;
using InferServe.Engine;
using InferServe.Engine.Hosting;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>GET /v1/models and /v1/models/{id}: the one served model, in OpenAI's shape.</summary>
internal sealed class ModelsEndpoint(EngineHost host)
{
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public Task ListAsync(HttpContext ctx) => WriteAsync(ctx, single: false);

    public Task GetAsync(HttpContext ctx, string id) =>
        id == host.ServedModelName ? WriteAsync(ctx, single: true)
        : ErrorWriter.WriteAsync(ctx, 404, $"The model '{id}' does not exist.", "invalid_request_error", "model", "model_not_found");

    private Task WriteAsync(HttpContext ctx, bool single)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, ErrorWriter.JsonOptions))
        {
            if (!single)
            {
                w.WriteStartObject();
                w.WriteString("object", "list");
                w.WriteStartArray("data");
            }
            WriteModel(w);
            if (!single)
            {
                w.WriteEndArray();
                w.WriteEndObject();
            }
        }
        ctx.Response.ContentType = "application/json";
        return ctx.Response.Body.WriteAsync(ms.ToArray()).AsTask();
    }

    private void WriteModel(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", host.ServedModelName);
        w.WriteString("object", "model");
        w.WriteNumber("created", _created);
        w.WriteString("owned_by", "inferserve");
        w.WriteString("root", host.Settings.Model);
        if (host.Current is { } loaded && TryFacts(loaded) is { } facts) w.WriteNumber("max_model_len", facts.MaxContext);
        w.WriteEndObject();
    }

    /// <summary>A router without a reachable worker has no facts yet; the field is then left out.</summary>
    private static ModelFacts? TryFacts(LoadedEngine loaded)
    {
        try { return loaded.Service.Facts; }
        catch (ServiceUnavailableException) { return null; }
    }
}
