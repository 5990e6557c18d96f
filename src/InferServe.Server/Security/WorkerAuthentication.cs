using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace InferServe.Server.Security;

/// <summary>
/// Guards the worker links on the gRPC port: on a worker every call (Prefill, PullKv, ReleaseKv, Decode, Watch,
/// GetInfo), on a gateway the Registry. A call without the configured credentials ends with UNAUTHENTICATED.
/// </summary>
internal sealed class WorkerAuthentication(WorkerCredentials credentials, KestrelEndpoints endpoints, bool isWorker, ILogger log)
{
    public Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        if (!endpoints.IsGrpcPort(ctx) || GrpcHosting.IsHealthCall(ctx)) return next(ctx);
        if (!isWorker && !ctx.Request.Path.StartsWithSegments(ApiKeyAuthentication.RegistryPathPrefix.TrimEnd('/'), StringComparison.Ordinal)) return next(ctx);
        if (credentials.Refusal(ctx) is not { } why) return next(ctx);
        log.LogWarning("Refused worker-link call {Path} from {Remote}: {Reason}", ctx.Request.Path.Value, ctx.Connection.RemoteIpAddress, why);
        return GrpcStatusResponse.WriteAsync(ctx, GrpcStatusResponse.Unauthenticated, "worker credentials required: " + why);
    }
}
