using InferServe.Grpc;
using InferServe.Transport.V1;

namespace InferServe.Router;

/// <summary>The gateway's side of <c>inferserve.worker.v1.Registry</c>: workers started with --gateway announce themselves here.</summary>
public sealed class RegistryService(WorkerMonitor workers)
{
    public Task<RegisterResponse> RegisterAsync(RegisterRequest request, ServerCallContext context)
    {
        if (request.Info is null) throw new RpcException(StatusCode.InvalidArgument, "info is required.");
        var reason = workers.Register(request.Address, request.Info);
        return Task.FromResult(new RegisterResponse { Accepted = reason is null, Reason = reason ?? "" });
    }
}
