using InferServe.Contracts.Hosting;
using InferServe.Metrics;
using InferServe.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Extension points of the serving host.</summary>
public sealed class ServingHostHooks
{
    /// <summary>Maps the public gRPC API (served on the h2c endpoint at <see cref="ServerSettings.GrpcPort"/>). Called after the HTTP routes are mapped.</summary>
    public Action<WebApplication, ModelHost>? MapGrpcApi { get; init; }
    /// <summary>Extra service / logging configuration (e.g. AddGrpc()).</summary>
    public Action<WebApplicationBuilder>? ConfigureBuilder { get; init; }
    /// <summary>Replaces the console logging setup (tests).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
    /// <summary>The registry /metrics serves, when the caller registers metrics of its own (workers, router).</summary>
    public MetricRegistry? Registry { get; init; }
    /// <summary>The worker-link credentials the caller's clients also use; null loads them from the settings.</summary>
    public WorkerCredentials? WorkerCredentials { get; init; }
}
