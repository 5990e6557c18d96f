using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace InferServe.Server;

/// <summary>
/// The readiness /ready reports, as an ASP.NET Core health check: the gRPC health service
/// (<c>grpc.health.v1.Health</c>) answers SERVING exactly when /ready answers 200.
/// </summary>
internal sealed class EngineReadinessCheck(ModelHost host) : IHealthCheck
{
    public const string Name = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (host.Current?.Service is IReadinessProbe probe && !probe.IsReady(out var why))
            return Task.FromResult(HealthCheckResult.Unhealthy("Not ready: " + why));
        if (host.IsReady) return Task.FromResult(HealthCheckResult.Healthy());
        return Task.FromResult(HealthCheckResult.Unhealthy(host.LoadError is null ? "The model is still loading." : "The model failed to load."));
    }
}
