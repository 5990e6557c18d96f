using InferServe.Grpc;
using InferServe.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace InferServe.Workers;

public static class WorkerEndpoints
{
    /// <summary>Maps <c>inferserve.worker.v1.Worker</c>; the returned builder applies conventions (host filters) to every method.</summary>
    public static IReadOnlyList<IEndpointConventionBuilder> MapWorkerGrpc(this IEndpointRouteBuilder endpoints, WorkerService service) =>
    [
        endpoints.MapGrpcUnary(WorkerMethods.GetInfo, service.GetInfoAsync),
        endpoints.MapGrpcServerStreaming(WorkerMethods.Watch, service.WatchAsync),
        endpoints.MapGrpcUnary(WorkerMethods.Prefill, service.PrefillAsync),
        endpoints.MapGrpcServerStreaming(WorkerMethods.PullKv, service.PullKvAsync),
        endpoints.MapGrpcUnary(WorkerMethods.ReleaseKv, service.ReleaseKvAsync),
        endpoints.MapGrpcServerStreaming(WorkerMethods.Decode, service.DecodeAsync),
    ];
}
