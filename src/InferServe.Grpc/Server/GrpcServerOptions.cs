namespace InferServe.Grpc;

/// <summary>Server limits; configure with <c>services.Configure&lt;GrpcServerOptions&gt;(...)</c>.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message sent; null means unlimited.</summary>
    public int? MaxSendMessageSize { get; set; }
}
