using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace InferServe.TestSupport;

/// <summary>
/// A throw-away test CA and certificates made with .NET's CertificateRequest, written as PEM files the way openssl
/// would: the CA, a node certificate for 127.0.0.1/localhost (TLS server and client), and a rogue CA's node
/// certificate that must be refused. Linked into the test projects that test TLS.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    public string Directory { get; }
    public X509Certificate2 Ca { get; }
    /// <summary>Signed by <see cref="Ca"/>, with its private key.</summary>
    public X509Certificate2 Node { get; }
    /// <summary>Signed by another CA, with its private key.</summary>
    public X509Certificate2 Rogue { get; }
    public string CaPath => Path.Combine(Directory, "ca.pem");
    public string NodeCertPath => Path.Combine(Directory, "node.pem");
    public string NodeKeyPath => Path.Combine(Directory, "node.key");
    public string RogueCertPath => Path.Combine(Directory, "rogue.pem");
    public string RogueKeyPath => Path.Combine(Directory, "rogue.key");

    private TestCertificates()
    {
        Directory = Path.Combine(Path.GetTempPath(), "inferserve-tls-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Ca = CreateCa("CN=InferServe Test CA", caKey);
        using var rogueCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rogueCa = CreateCa("CN=Rogue CA", rogueCaKey);
        Node = Write(CreateLeaf(Ca, "CN=inferserve-node"), NodeCertPath, NodeKeyPath);
        Rogue = Write(CreateLeaf(rogueCa, "CN=rogue-node"), RogueCertPath, RogueKeyPath);
        File.WriteAllText(CaPath, Ca.ExportCertificatePem() + "\n");
    }

    public static TestCertificates Create() => new();

    /// <summary>Writes a file with other content (bad PEM and the like) into the directory.</summary>
    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A client-side check of the server's certificate against <see cref="Ca"/> only (not the system store).</summary>
    public RemoteCertificateValidationCallback ServerValidator => (_, certificate, _, errors) =>
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    };

    /// <summary>An HttpClient that trusts only the test CA (and presents <paramref name="clientCertificate"/> when given).</summary>
    public HttpClient CreateHttpClient(X509Certificate2? clientCertificate = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = ServerValidator;
        if (clientCertificate is not null) handler.SslOptions.ClientCertificates = new X509CertificateCollection { clientCertificate };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }

    private static X509Certificate2 CreateCa(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static (X509Certificate2 Certificate, ECDsa Key) CreateLeaf(X509Certificate2 ca, string subject)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { ServerAuth, ClientAuth }, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        return (request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), serial), key);
    }

    private static X509Certificate2 Write((X509Certificate2 Certificate, ECDsa Key) leaf, string certPath, string keyPath)
    {
        File.WriteAllText(certPath, leaf.Certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, leaf.Key.ExportPkcs8PrivateKeyPem() + "\n");
        var withKey = leaf.Certificate.CopyWithPrivateKey(leaf.Key);
        leaf.Key.Dispose();
        return withKey;
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
