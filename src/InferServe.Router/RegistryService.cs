using Grpc.Core;
using InferServe.Transport.V1;

namespace InferServe.Router;

/// <summary>
/// The gateway's side of <c>inferserve.worker.v1.Registry</c>: workers started with --gateway announce themselves here.
/// <paramref name="workers"/> is null until the gateway's router is up; calls before then end with UNAVAILABLE.
/// </summary>
public sealed class RegistryService(Func<WorkerMonitor?> workers) : Registry.RegistryBase
{
    public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        var monitor = workers() ?? throw new RpcException(new Status(StatusCode.Unavailable, "The gateway is starting."));
        if (request.Info is null) throw new RpcException(new Status(StatusCode.InvalidArgument, "info is required."));
        var reason = monitor.Register(request.Address, request.Info);
        return Task.FromResult(new RegisterResponse { Accepted = reason is null, Reason = reason ?? "" });
    }
}
