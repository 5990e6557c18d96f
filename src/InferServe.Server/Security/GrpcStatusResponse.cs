using Microsoft.AspNetCore.Http;

namespace InferServe.Server.Security;

/// <summary>A gRPC call refused before it reaches its handler, as a Trailers-Only response (what gRPC clients expect).</summary>
internal static class GrpcStatusResponse
{
    public const int ResourceExhausted = 8;
    public const int Unauthenticated = 16;

    /// <param name="message">ASCII without '%' (sent as grpc-message without percent-encoding).</param>
    public static Task WriteAsync(HttpContext ctx, int status, string message)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/grpc";
        ctx.Response.Headers["grpc-status"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ctx.Response.Headers["grpc-message"] = message;
        return Task.CompletedTask;
    }
}
