using System.Security.Cryptography.X509Certificates;

namespace InferServe.Grpc;

public sealed class GrpcClientOptions
{
    /// <summary>Largest response message accepted; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent; null means unlimited.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Certificate (with its private key) presented to https:// servers that ask for one (mutual TLS).</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>
    /// Roots a server certificate must chain to, instead of the system's trust store (a private CA); null trusts the
    /// system store. The host name is checked either way.
    /// </summary>
    public X509Certificate2Collection? TrustedRoots { get; set; }

    /// <summary>With <see cref="TrustedRoots"/> set, also accept certificates the system store trusts.</summary>
    public bool AlsoTrustSystemRoots { get; set; }

    /// <summary>Metadata sent with every call (call credentials such as <c>authorization</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; set; } = [];
}
