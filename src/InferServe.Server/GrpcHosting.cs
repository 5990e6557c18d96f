using InferServe.Contracts.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace InferServe.Server;

/// <summary>Grpc.AspNetCore on every role: limits, compression and the standard health service wired to readiness.</summary>
internal static class GrpcHosting
{
    /// <summary>Path prefix of <c>grpc.health.v1.Health</c>: probes carry no API key or worker credential, as for /ready.</summary>
    public const string HealthPathPrefix = "/grpc.health.v1.Health";

    /// <summary>Largest request message; a larger one ends the call with RESOURCE_EXHAUSTED.</summary>
    public const int MaxReceiveMessageSize = 4 * 1024 * 1024;

    public static void AddServices(IServiceCollection services, ModelHost host)
    {
        services.AddSingleton(host);
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = MaxReceiveMessageSize;
            // Never leak exception text or stack traces to the peer; handlers log and throw RpcException.
            o.EnableDetailedErrors = false;
        });
        services.AddGrpcHealthChecks().AddCheck<EngineReadinessCheck>(EngineReadinessCheck.Name);
    }

    /// <summary>The health service on the gRPC port only; Check runs the readiness check on each call.</summary>
    public static void MapHealth(WebApplication app, int grpcPort) =>
        app.MapGrpcHealthChecksService().RequireHost($"*:{grpcPort}");

    internal static bool IsHealthCall(Microsoft.AspNetCore.Http.HttpContext ctx) =>
        ctx.Request.Path.StartsWithSegments(HealthPathPrefix, StringComparison.Ordinal);
}
