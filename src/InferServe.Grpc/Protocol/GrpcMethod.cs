using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>
/// Names one RPC (<c>/{Service}/{Name}</c>) and binds its message types, so client calls and server
/// registrations share one definition and type arguments are inferred.
/// </summary>
public sealed record GrpcMethod<TRequest, TResponse>(string Service, string Name)
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    /// <summary>The HTTP/2 :path, e.g. <c>/inferserve.test.Interop/Unary</c>.</summary>
    public string Path { get; } = $"/{Service}/{Name}";
}
