using InferServe.Grpc;
using InferServe.Transport.V1;

namespace InferServe.Transport;

/// <summary>The methods of <c>inferserve.worker.v1.Worker</c>, shared by the workers and the router.</summary>
public static class WorkerMethods
{
    public const string Service = "inferserve.worker.v1.Worker";
    public static readonly GrpcMethod<InfoRequest, WorkerInfo> GetInfo = new(Service, "GetInfo");
    public static readonly GrpcMethod<WatchRequest, WorkerStatus> Watch = new(Service, "Watch");
    public static readonly GrpcMethod<PrefillRequest, PrefillResponse> Prefill = new(Service, "Prefill");
    public static readonly GrpcMethod<PullKvRequest, KvChunk> PullKv = new(Service, "PullKv");
    public static readonly GrpcMethod<ReleaseKvRequest, ReleaseKvResponse> ReleaseKv = new(Service, "ReleaseKv");
    public static readonly GrpcMethod<DecodeRequest, TokenEvent> Decode = new(Service, "Decode");

    public const string RegistryService = "inferserve.worker.v1.Registry";
    public static readonly GrpcMethod<RegisterRequest, RegisterResponse> Register = new(RegistryService, "Register");

    /// <summary>KV chunks stay well under gRPC's default 4 MiB message limit.</summary>
    public const int MaxChunkBytes = 1 << 20;
}
