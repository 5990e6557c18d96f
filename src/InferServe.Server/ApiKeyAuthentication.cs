using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>
/// Bearer API-key check for the HTTP routes and the public gRPC API. Keys are kept as SHA-256 hashes and compared
/// in constant time; with no keys configured every request passes.
/// </summary>
internal sealed class ApiKeyAuthentication(IEnumerable<string> keys, KestrelEndpoints endpoints)
{
    private readonly byte[][] _keyHashes = keys.Select(Hash).ToArray();

    /// <summary>
    /// Checks an "Authorization: Bearer KEY" value against the configured keys (constant-time). True when no keys are configured.
    /// </summary>
    public bool IsAuthorized(string? authorization)
    {
        if (_keyHashes.Length == 0) return true;
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        var hash = Hash(authorization[7..].Trim());
        bool ok = false;
        // No early exit: the time taken does not tell which key (or how much of one) matched.
        foreach (var k in _keyHashes) ok |= CryptographicOperations.FixedTimeEquals(hash, k);
        return ok;
    }

    public Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        if (endpoints.IsGrpcPort(ctx)) return AuthenticateGrpcAsync(ctx, next);
        if (_keyHashes.Length == 0) return next(ctx);
        var path = ctx.Request.Path;
        // Probes and scrapers carry no key.
        if (path.Equals("/health") || path.Equals("/ready") || path.Equals("/metrics")) return next(ctx);
        var header = ctx.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return ErrorWriter.WriteAsync(ctx, 401, "Missing API key: send 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key");
        if (!IsAuthorized(header)) return ErrorWriter.WriteAsync(ctx, 401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key");
        return next(ctx);
    }

    /// <summary>gRPC calls must send `authorization: Bearer KEY` metadata, else UNAUTHENTICATED.</summary>
    private Task AuthenticateGrpcAsync(HttpContext ctx, RequestDelegate next)
    {
        if (_keyHashes.Length == 0 || IsAuthorized(ctx.Request.Headers.Authorization.ToString())) return next(ctx);
        // Trailers-Only response: HTTP 200 with the status in headers, as gRPC clients expect.
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/grpc";
        ctx.Response.Headers["grpc-status"] = "16";
        ctx.Response.Headers["grpc-message"] = "missing or invalid API key";
        return Task.CompletedTask;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
