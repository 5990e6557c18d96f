using InferServe.Api.Grpc.V1;
using InferServe.Grpc;

namespace InferServe.Api.Grpc;

/// <summary>The methods of <c>inferserve.v1.Inference</c>, shared by the server registration and C# clients.</summary>
public static class InferenceMethods
{
    public const string Service = "inferserve.v1.Inference";

    /// <summary>Server streaming: token deltas per choice.</summary>
    public static readonly GrpcMethod<GenerateRequest, GenerateResponse> Generate = new(Service, "Generate");

    /// <summary>Unary: the whole completion.</summary>
    public static readonly GrpcMethod<GenerateRequest, CompleteResponse> Complete = new(Service, "Complete");

    /// <summary>Unary: the served model and its limits.</summary>
    public static readonly GrpcMethod<ModelInfoRequest, ModelInfo> GetModelInfo = new(Service, "GetModelInfo");
}
