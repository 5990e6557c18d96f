using System.Diagnostics;
using InferServe.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>
/// Outermost HTTP middleware: assigns the request id (echoed as X-Request-Id and logged as a scope), turns exceptions
/// into OpenAI-shaped errors, fills bodies for bare 404/405, writes one access-log line per request (Information,
/// probes Debug; why a request was refused is Debug too, as its status is on that line) and counts it by route and
/// final status.
/// </summary>
internal sealed class ErrorMappingMiddleware(ILogger log, KestrelEndpoints endpoints, string maxBodySize, InferServe.Metrics.Counter? requests = null)
{
    public const string RequestIdItem = "inferserve.request_id";

    /// <summary>The id this middleware assigned to the request.</summary>
    public static string RequestId(HttpContext ctx) => (string)ctx.Items[RequestIdItem]!;

    public async Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        if (endpoints.IsGrpcPort(ctx))
        {
            await next(ctx);
            return;
        }
        var requestId = AssignRequestId(ctx);
        using var scope = log.BeginScope("request_id={RequestId}", requestId);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(ctx);
            await WriteBareStatusAsync(ctx);
        }
        catch (ApiException e)
        {
            if (e.Status >= 500) log.LogError("Request failed: {Status} {Message}", e.Status, e.Message);
            else log.LogDebug("Rejected: {Status} {Code} {Message}", e.Status, e.Code, e.Message);
            await ErrorWriter.WriteAsync(ctx, e);
        }
        catch (InvalidRequestException e)
        {
            log.LogDebug("Rejected: 400 {Message}", e.Message);
            await ErrorWriter.WriteAsync(ctx, 400, e.Message, "invalid_request_error", e.Param, "invalid_value");
        }
        catch (ServiceUnavailableException e)
        {
            log.LogWarning("Rejected: 503 {Message}", e.Message);
            await RetryLaterAsync(ctx, 503, e.Message, "server_error", "service_unavailable");
        }
        catch (EngineOverloadedException e)
        {
            log.LogWarning("Rejected: 429 {Message}", e.Message);
            await RetryLaterAsync(ctx, 429, e.Message, "rate_limit_error", "engine_overloaded");
        }
        catch (BadHttpRequestException e)
        {
            int status = e.StatusCode;
            string message = status == 413 ? $"The request body exceeds the limit of {maxBodySize}." : "Bad request: " + e.Message;
            log.LogDebug("Rejected: {Status} {Message}", status, message);
            await ErrorWriter.WriteAsync(ctx, status, message, "invalid_request_error", null, status == 413 ? "request_too_large" : "bad_request");
        }
        catch (Exception e) when (ctx.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Nobody is left to read an error body.
            log.LogDebug("Client disconnected; request aborted");
        }
        catch (Exception e)
        {
            log.LogError(e, "Unhandled error");
            await ErrorWriter.WriteAsync(ctx, 500, "Internal server error.", "server_error", null, "internal_error");
        }
        finally
        {
            // The one Information line per request; probes come every few seconds, so they are Debug.
            log.Log(IsProbe(ctx) ? LogLevel.Debug : LogLevel.Information, "{Method} {Path} -> {Status} in {ElapsedMs:F1} ms",
                ctx.Request.Method, ctx.Request.Path.Value, ctx.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            // The route pattern, not the path: ids in /v1/responses/{id} would make a series per request.
            string route = (ctx.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            requests?.WithLabels(route, ctx.Request.Method, ctx.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        }
    }

    private static bool IsProbe(HttpContext ctx) => ctx.Request.Path.Value is "/health" or "/ready";

    /// <summary>A client-supplied X-Request-Id is kept when short and safe to log; otherwise a fresh one is made.</summary>
    private static string AssignRequestId(HttpContext ctx)
    {
        var incoming = ctx.Request.Headers["X-Request-Id"].ToString();
        var requestId = incoming.Length is > 0 and <= 64 && incoming.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? incoming : Guid.NewGuid().ToString("N");
        ctx.Items[RequestIdItem] = requestId;
        ctx.Response.Headers["X-Request-Id"] = requestId;
        return requestId;
    }

    /// <summary>Routing's empty 404 / 405 answers get an OpenAI error body.</summary>
    private static Task WriteBareStatusAsync(HttpContext ctx)
    {
        if (ctx.Response.HasStarted || ctx.Response.ContentLength is not null || ctx.Response.ContentType is not null) return Task.CompletedTask;
        return ctx.Response.StatusCode switch
        {
            404 => ErrorWriter.WriteAsync(ctx, 404, $"Unknown route: {ctx.Request.Method} {ctx.Request.Path}.", "invalid_request_error", null, "not_found"),
            405 => ErrorWriter.WriteAsync(ctx, 405, $"Method {ctx.Request.Method} is not allowed for {ctx.Request.Path}.", "invalid_request_error", null, "method_not_allowed"),
            _ => Task.CompletedTask,
        };
    }

    /// <summary>Overload and unavailability are transient: clients are told to retry after a second.</summary>
    private static Task RetryLaterAsync(HttpContext ctx, int status, string message, string type, string code)
    {
        if (!ctx.Response.HasStarted) ctx.Response.Headers.RetryAfter = "1";
        return ErrorWriter.WriteAsync(ctx, status, message, type, null, code);
    }
}
