using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server.Security;

/// <summary>
/// Bearer API-key check for the HTTP routes and the public gRPC API, with an optional per-key limit on requests in
/// flight (429 / RESOURCE_EXHAUSTED beyond it; a stream counts until it ends). Keys are kept as SHA-256 hashes and
/// compared in constant time; with no keys configured every request passes.
/// </summary>
internal sealed class ApiKeyAuthentication
{
    /// <summary>Workers announce themselves here with worker credentials (<see cref="WorkerAuthentication"/>), not API keys.</summary>
    public const string RegistryPathPrefix = "/inferserve.worker.v1.Registry/";

    private readonly byte[][] _keyHashes;
    private readonly int[] _limits; // 0: no limit
    private readonly int[] _inFlight;
    private readonly KestrelEndpoints _endpoints;
    private readonly bool _isWorker;

    public ApiKeyAuthentication(IReadOnlyList<ApiKeySpec> keys, KestrelEndpoints endpoints, bool isWorker)
    {
        _keyHashes = [.. keys.Select(k => Hash(k.Key))];
        _limits = [.. keys.Select(k => k.MaxConcurrent ?? 0)];
        _inFlight = new int[keys.Count];
        _endpoints = endpoints;
        _isWorker = isWorker;
    }

    /// <summary>
    /// Checks an "Authorization: Bearer KEY" value against the configured keys (constant-time). True when no keys are configured.
    /// </summary>
    public bool IsAuthorized(string? authorization) => _keyHashes.Length == 0 || Match(authorization) >= 0;

    /// <summary>The index of the key sent, or -1.</summary>
    private int Match(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return -1;
        var hash = Hash(authorization[7..].Trim());
        int match = -1;
        // No early exit: the time taken does not tell which key (or how much of one) matched.
        for (int i = 0; i < _keyHashes.Length; i++)
            if (CryptographicOperations.FixedTimeEquals(hash, _keyHashes[i])) match = i;
        return match;
    }

    public Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        if (_endpoints.IsGrpcPort(ctx))
        {
            // A worker's gRPC port carries only the worker protocol, guarded by the worker credentials.
            if (_isWorker || ctx.Request.Path.StartsWithSegments(RegistryPathPrefix.TrimEnd('/'), StringComparison.Ordinal)) return next(ctx);
            // Probes carry no key, as for /ready.
            if (GrpcHosting.IsHealthCall(ctx)) return next(ctx);
            return AuthenticateGrpcAsync(ctx, next);
        }
        if (_keyHashes.Length == 0) return next(ctx);
        var path = ctx.Request.Path;
        // Probes and scrapers carry no key.
        if (path.Equals("/health") || path.Equals("/ready") || path.Equals("/metrics")) return next(ctx);
        var header = ctx.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return ErrorWriter.WriteAsync(ctx, 401, "Missing API key: send 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key");
        int key = Match(header);
        if (key < 0) return ErrorWriter.WriteAsync(ctx, 401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key");
        return _limits[key] == 0 ? next(ctx) : WithinLimitAsync(ctx, next, key, grpc: false);
    }

    /// <summary>gRPC calls must send `authorization: Bearer KEY` metadata, else UNAUTHENTICATED.</summary>
    private Task AuthenticateGrpcAsync(HttpContext ctx, RequestDelegate next)
    {
        if (_keyHashes.Length == 0) return next(ctx);
        int key = Match(ctx.Request.Headers.Authorization.ToString());
        if (key < 0) return GrpcStatusResponse.WriteAsync(ctx, GrpcStatusResponse.Unauthenticated, "missing or invalid API key");
        return _limits[key] == 0 ? next(ctx) : WithinLimitAsync(ctx, next, key, grpc: true);
    }

    private async Task WithinLimitAsync(HttpContext ctx, RequestDelegate next, int key, bool grpc)
    {
        if (Interlocked.Increment(ref _inFlight[key]) > _limits[key])
        {
            Interlocked.Decrement(ref _inFlight[key]);
            var message = $"This API key already has {_limits[key]} requests in flight, its limit; retry when one has finished.";
            if (grpc)
            {
                await GrpcStatusResponse.WriteAsync(ctx, GrpcStatusResponse.ResourceExhausted, message);
                return;
            }
            ctx.Response.Headers.RetryAfter = "1";
            await ErrorWriter.WriteAsync(ctx, 429, message, "rate_limit_error", null, "concurrency_limit_exceeded");
            return;
        }
        try { await next(ctx); }
        finally { Interlocked.Decrement(ref _inFlight[key]); }
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
