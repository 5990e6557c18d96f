using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace InferServe.Transport;

/// <summary>Chain checks against a private CA, for servers checking client certificates and clients checking servers.</summary>
public static class CertificateTrust
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <summary>Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/> and may act as a TLS client.</summary>
    public static bool IsTrustedClient(X509Certificate2 certificate, X509Certificate2Collection roots, X509Certificate2Collection? intermediates = null) =>
        Chains(certificate, roots, ClientAuth, intermediates);

    /// <summary>Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/> and may act as a TLS server.</summary>
    public static bool IsTrustedServer(X509Certificate2 certificate, X509Certificate2Collection roots, X509Certificate2Collection? intermediates = null) =>
        Chains(certificate, roots, ServerAuth, intermediates);

    /// <summary>
    /// A RemoteCertificateValidationCallback for clients: the host name must match, and the chain must lead to
    /// <paramref name="roots"/> (or, with <paramref name="alsoSystem"/>, to the system store).
    /// </summary>
    public static RemoteCertificateValidationCallback ServerValidator(X509Certificate2Collection roots, bool alsoSystem) =>
        (_, certificate, chain, errors) =>
        {
            if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0) return false;
            if (alsoSystem && errors == SslPolicyErrors.None) return true;
            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var presented = new X509Certificate2Collection();
            if (chain is not null) foreach (var element in chain.ChainElements) presented.Add(element.Certificate);
            return IsTrustedServer(leaf, roots, presented);
        };

    private static bool Chains(X509Certificate2 certificate, X509Certificate2Collection roots, string usage, X509Certificate2Collection? intermediates)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(roots);
        // A private CA publishes no revocation lists; rotating the CA (or the certificates) is how access is withdrawn.
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.ApplicationPolicy.Add(new Oid(usage));
        if (intermediates is not null) policy.ExtraStore.AddRange(intermediates);
        try { return chain.Build(certificate); }
        catch (CryptographicException) { return false; }
    }
}
