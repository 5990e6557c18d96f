using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace InferServe.Server.Security;

/// <summary>A certificate, key or CA file that cannot be used; the CLI prints the message as one line.</summary>
public sealed class CredentialException(string message) : Exception(message);

/// <summary>A PEM certificate with its private key, and the intermediates that followed it in the file.</summary>
public sealed record CertificateWithChain(X509Certificate2 Certificate, X509Certificate2Collection Intermediates);

/// <summary>
/// Loads PEM certificates, keys and CA bundles (what openssl and most CAs write), checking each step so a wrong file
/// gets a message that names the flag, the file and what is wrong with it.
/// </summary>
public static class PemCredentials
{
    /// <summary>The first certificate of <paramref name="certPath"/> (later ones are its chain) with the key of <paramref name="keyPath"/>.</summary>
    public static CertificateWithChain LoadCertificate(string certPath, string keyPath, string certFlag, string keyFlag)
    {
        var certificates = ReadCertificates(certPath, certFlag);
        var leaf = certificates[0];
        var keyText = ReadText(keyPath, keyFlag);
        if (!keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new CredentialException($"{keyFlag} '{keyPath}' holds no PEM private key (-----BEGIN PRIVATE KEY-----).");
        if (keyText.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
            throw new CredentialException($"{keyFlag} '{keyPath}' is encrypted; give the key without a passphrase (openssl pkey -in KEY -out PLAIN) and protect the file with permissions.");
        var withKey = leaf.GetKeyAlgorithm() switch
        {
            "1.2.840.113549.1.1.1" => WithKey(leaf, RSA.Create(), keyText, (c, k) => c.CopyWithPrivateKey(k)),
            "1.2.840.10045.2.1" => WithKey(leaf, ECDsa.Create(), keyText, (c, k) => c.CopyWithPrivateKey(k)),
            var oid => throw new CredentialException($"{certFlag} '{certPath}' has a key of type {oid}; use an RSA or ECDSA certificate."),
        } ?? throw new CredentialException(Readable(keyText)
            ? $"{keyFlag} '{keyPath}' does not match the certificate in {certFlag} '{certPath}'."
            : $"{keyFlag} '{keyPath}' is not a readable PEM private key (RSA or ECDSA, PKCS#1, SEC1 or PKCS#8).");
        if (leaf.NotAfter < DateTime.Now)
            throw new CredentialException($"{certFlag} '{certPath}' expired on {leaf.NotAfter:yyyy-MM-dd}.");
        var chain = new X509Certificate2Collection();
        for (int i = 1; i < certificates.Count; i++) chain.Add(certificates[i]);
        return new CertificateWithChain(withKey, chain);
    }

    /// <summary>Every certificate of a CA bundle file.</summary>
    public static X509Certificate2Collection LoadCaBundle(string path, string flag)
    {
        var bundle = new X509Certificate2Collection();
        bundle.AddRange(ReadCertificates(path, flag).ToArray());
        return bundle;
    }

    /// <summary>The certificate with the key, or null when the key is another key (or of another type) than the certificate's.</summary>
    private static X509Certificate2? WithKey<TKey>(X509Certificate2 leaf, TKey key, string keyText, Func<X509Certificate2, TKey, X509Certificate2> combine)
        where TKey : AsymmetricAlgorithm
    {
        // The certificate keeps its own copy of the key; this instance is not disposed so no platform shares a freed handle.
        try { key.ImportFromPem(keyText); }
        catch (Exception e) when (e is ArgumentException or CryptographicException) { return null; }
        try { return combine(leaf, key); }
        catch (Exception e) when (e is ArgumentException or CryptographicException) { return null; }
    }

    private static bool Readable(string keyText)
    {
        foreach (AsymmetricAlgorithm key in new AsymmetricAlgorithm[] { RSA.Create(), ECDsa.Create() })
        {
            using (key)
            {
                try
                {
                    key.ImportFromPem(keyText);
                    return true;
                }
                catch (Exception e) when (e is ArgumentException or CryptographicException) { }
            }
        }

        return false;
    }

    private static List<X509Certificate2> ReadCertificates(string path, string flag)
    {
        var text = ReadText(path, flag);
        var list = new List<X509Certificate2>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual("CERTIFICATE".AsSpan()))
            {
                try { list.Add(X509CertificateLoader.LoadCertificate(Convert.FromBase64String(rest[fields.Base64Data].ToString()))); }
                catch (CryptographicException e) { throw new CredentialException($"{flag} '{path}' holds a certificate that cannot be read: {e.Message.TrimEnd('.')}."); }
            }
            rest = rest[fields.Location.End..];
        }
        if (list.Count == 0) throw new CredentialException($"{flag} '{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");
        return list;
    }

    private static string ReadText(string path, string flag)
    {
        if (!File.Exists(path)) throw new CredentialException($"{flag} file '{path}' does not exist.");
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CredentialException($"{flag} file '{path}' cannot be read: {e.Message}"); }
    }
}
