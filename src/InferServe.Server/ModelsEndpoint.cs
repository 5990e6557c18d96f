using System.Text.Json;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>GET /v1/models and /v1/models/{id}: the one served model, in OpenAI's shape.</summary>
internal sealed class ModelsEndpoint(ModelHost host)
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
        w.WriteString("root", Root(host.ModelPath, host.ServedModelName));
        if (host.Current is { } loaded && TryFacts(loaded) is { } facts) w.WriteNumber("max_model_len", facts.MaxContext);
        w.WriteEndObject();
    }

    /// <summary>
    /// What the model was loaded from, without the server's directories (an API answer never shows them): org/name
    /// for a Hugging Face cache snapshot, else the file or directory name.
    /// </summary>
    internal static string Root(string? model, string servedName)
    {
        if (string.IsNullOrEmpty(model)) return servedName;
        var parts = model.Replace('\\', '/').TrimEnd('/').Split('/');
        int repo = Array.FindLastIndex(parts, p => p.StartsWith("models--", StringComparison.Ordinal));
        if (repo >= 0 && parts[repo].Split("--") is [_, var org, var name]) return $"{org}/{name}";
        bool isPath = Path.IsPathRooted(model) || File.Exists(model) || Directory.Exists(model) || model.StartsWith('.');
        return isPath ? parts[^1] : model;
    }

    /// <summary>A router without a reachable worker has no facts yet; the field is then left out.</summary>
    private static ModelFacts? TryFacts(LoadedModel loaded)
    {
        try { return loaded.Service.Facts; }
        catch (ServiceUnavailableException) { return null; }
    }
}
