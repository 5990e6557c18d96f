namespace InferServe.Grpc;

/// <summary>Server limits; configure with <c>services.Configure&lt;GrpcServerOptions&gt;(...)</c>.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message sent; null means unlimited.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// Local ports that serve only gRPC. On them every unmatched <c>POST /{service}/{method}</c> is answered by the
    /// gRPC catch-all (UNIMPLEMENTED, or 415 when the request is not gRPC); on other ports the catch-all only
    /// takes requests with a gRPC content-type, leaving other routes' 404s to the app.
    /// </summary>
    public ISet<int> GrpcOnlyPorts { get; } = new HashSet<int>();
}
