using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using InferServe.Transport;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server.Security;

/// <summary>
/// Credentials of the worker links (gateway to worker, worker to worker for KV, worker to gateway for registration):
/// mutual TLS with certificates from one CA, a shared token, or both. A worker (and the gateway's Registry) refuses a
/// call that lacks any configured credential; the clients of these links present them.
/// </summary>
public sealed class WorkerCredentials
{
    private readonly byte[]? _tokenHash;
    // Verdicts per presented certificate: Kestrel keeps one certificate object per connection, so a chain is built once per connection.
    private readonly ConditionalWeakTable<X509Certificate2, object> _verdicts = new();

    private WorkerCredentials(CertificateWithChain? certificate, X509Certificate2Collection? ca, string? token)
    {
        Certificate = certificate;
        Ca = ca;
        Token = token;
        if (token is not null) _tokenHash = Hash(token);
    }

    /// <summary>This process's certificate for mutual TLS, or null without it.</summary>
    public CertificateWithChain? Certificate { get; }
    /// <summary>The CA worker-link certificates must chain to.</summary>
    public X509Certificate2Collection? Ca { get; }
    public string? Token { get; }
    /// <summary>Worker links run over TLS (https:// addresses).</summary>
    public bool UsesTls => Certificate is not null;

    /// <summary>The configured credentials, or null when the worker links are open; one clear error for an unusable setup.</summary>
    public static WorkerCredentials? Load(ServerSettings s)
    {
        bool anyTls = s.WorkerTlsCert is not null || s.WorkerTlsKey is not null || s.WorkerCa is not null;
        if (s.Role == "all")
        {
            if (anyTls || s.WorkerToken is not null)
                throw new CredentialException("--worker-tls-cert, --worker-tls-key, --worker-ca and --worker-token are for --role prefill, decode or gateway.");
            return null; // INFERSERVE_WORKER_TOKEN set for a whole deployment does not concern the one-process server.
        }
        var token = s.ResolveWorkerToken();
        if (!anyTls && token is null) return null;
        if (token is not null)
        {
            if (token.Length < 16) throw new CredentialException("The worker token must be at least 16 characters; make one with `openssl rand -hex 32`.");
            if (!token.All(c => c is > ' ' and < (char)127)) throw new CredentialException("The worker token must be printable ASCII without spaces.");
        }
        if (!anyTls) return new WorkerCredentials(null, null, token);
        if (s.WorkerTlsCert is null || s.WorkerTlsKey is null || s.WorkerCa is null)
            throw new CredentialException("Mutual TLS on the worker links needs all three of --worker-tls-cert, --worker-tls-key and --worker-ca.");
        var certificate = PemCredentials.LoadCertificate(s.WorkerTlsCert, s.WorkerTlsKey, "--worker-tls-cert", "--worker-tls-key");
        var ca = PemCredentials.LoadCaBundle(s.WorkerCa, "--worker-ca");
        if (!CertificateTrust.IsTrustedServer(certificate.Certificate, ca, certificate.Intermediates)
            || !CertificateTrust.IsTrustedClient(certificate.Certificate, ca, certificate.Intermediates))
        {
            throw new CredentialException($"--worker-tls-cert '{s.WorkerTlsCert}' is not signed by --worker-ca '{s.WorkerCa}' for both TLS server and client use; the other workers would refuse it.");
        }

        return new WorkerCredentials(certificate, ca, token);
    }

    /// <summary>
    /// Options for the gRPC clients of the worker links. <paramref name="alsoTrustSystem"/>: the gateway's gRPC port may
    /// present a public certificate (--tls-cert) instead of one from the worker CA.
    /// </summary>
    public WorkerLinkOptions ClientOptions(bool alsoTrustSystem = false) => new()
    {
        ClientCertificate = Certificate?.Certificate,
        TrustedRoots = Ca,
        AlsoTrustSystemRoots = alsoTrustSystem,
        Token = Token,
    };

    /// <summary>Null when the call carries every configured credential; else why it is refused.</summary>
    public string? Refusal(HttpContext ctx)
    {
        if (Ca is not null)
        {
            if (ctx.Connection.ClientCertificate is not { } certificate) return "no client certificate (mutual TLS with a certificate from the worker CA is required)";
            if (!IsTrusted(certificate)) return "the client certificate is not signed by the worker CA";
        }
        if (_tokenHash is not null)
        {
            var header = ctx.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return "no worker token (authorization: Bearer TOKEN)";
            if (!CryptographicOperations.FixedTimeEquals(Hash(header[7..].Trim()), _tokenHash)) return "wrong worker token";
        }
        return null;
    }

    private bool IsTrusted(X509Certificate2 certificate)
    {
        if (_verdicts.TryGetValue(certificate, out var verdict)) return (bool)verdict;
        bool trusted = CertificateTrust.IsTrustedClient(certificate, Ca!);
        _verdicts.AddOrUpdate(certificate, trusted);
        return trusted;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
