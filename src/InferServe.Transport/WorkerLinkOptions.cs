using System.Security.Cryptography.X509Certificates;

namespace InferServe.Transport;

/// <summary>Credentials a worker-link client presents: a client certificate and private CA (mutual TLS), a token, or none.</summary>
public sealed record WorkerLinkOptions
{
    /// <summary>Certificate (with its private key) presented to https:// servers that ask for one (mutual TLS).</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Roots a server certificate must chain to instead of the system store (a private CA); null trusts the system store.</summary>
    public X509Certificate2Collection? TrustedRoots { get; init; }

    /// <summary>With <see cref="TrustedRoots"/> set, also accept certificates the system store trusts.</summary>
    public bool AlsoTrustSystemRoots { get; init; }

    /// <summary>The shared worker token, sent as <c>authorization: Bearer TOKEN</c> on every call.</summary>
    public string? Token { get; init; }
}
