namespace InferServe.Grpc;

public sealed class GrpcClientOptions
{
    /// <summary>Largest response message accepted; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent; null means unlimited.</summary>
    public int? MaxSendMessageSize { get; set; }
}
