using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace InferServe.Workers;

public static class WorkerEndpoints
{
    /// <summary>Registers the one <see cref="WorkerService"/> of this process, so Grpc.AspNetCore serves calls with it.</summary>
    public static IServiceCollection AddWorkerGrpc(this IServiceCollection services, WorkerService service) => services.AddSingleton(service);

    /// <summary>Maps <c>inferserve.worker.v1.Worker</c>; the returned builder applies conventions (host filters) to every method.</summary>
    public static IEndpointConventionBuilder MapWorkerGrpc(this IEndpointRouteBuilder endpoints) => endpoints.MapGrpcService<WorkerService>();
}
