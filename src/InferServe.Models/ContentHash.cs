using System.Security.Cryptography;

namespace InferServe.Models;

/// <summary>SHA-256 over file contents (names excluded), for cache keys that survive renames but not edits.</summary>
public static class ContentHash
{
    public static string OfFiles(IEnumerable<string> paths)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var path in paths.OrderBy(p => Path.GetFileName(p), StringComparer.Ordinal))
        {
            using var stream = File.OpenRead(path);
            int n;
            while ((n = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static string OfString(string text) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
