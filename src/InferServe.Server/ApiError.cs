using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>An error answered in OpenAI's shape: {"error":{"message","type","param","code"}}.</summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null, string? type = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public string Type { get; } = type ?? DefaultType(status);

    /// <summary>503 while the model loads (or failed to).</summary>
    public static ApiException ModelLoading() => new(503, "The model is still loading; retry shortly (see GET /ready).", null, "model_loading");

    public static string DefaultType(int status) => status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        503 => "service_unavailable_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public static ApiException BadRequest(string message, string? param = null) => new(400, message, param, "invalid_value", "invalid_request_error");
}

internal static class ErrorWriter
{
    /// <summary>Like OpenAI: non-ASCII text and quotes stay readable; control characters are still escaped (SSE-safe).</summary>
    public static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Body(int status, string message, string? type = null, string? param = null, string? code = null)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, JsonOptions))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type ?? ApiException.DefaultType(status));
            if (param is null) w.WriteNull("param"); else w.WriteString("param", param);
            if (code is null) w.WriteNull("code"); else w.WriteString("code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    public static async Task WriteAsync(HttpContext ctx, int status, string message, string? type = null, string? param = null, string? code = null)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        var body = Body(status, message, type, param, code);
        ctx.Response.ContentLength = body.Length;
        try { await ctx.Response.Body.WriteAsync(body); }
        catch (Exception e) when (e is OperationCanceledException or IOException) { }
    }

    public static Task WriteAsync(HttpContext ctx, ApiException e) => WriteAsync(ctx, e.Status, e.Message, e.Type, e.Param, e.Code);
}
