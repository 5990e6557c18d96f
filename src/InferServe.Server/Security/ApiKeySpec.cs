using System.Globalization;

namespace InferServe.Server.Security;

/// <summary>One accepted API key and how many requests it may have in flight at once (null: no limit).</summary>
public sealed record ApiKeySpec(string Key, int? MaxConcurrent)
{
    /// <summary>
    /// Parses <c>KEY</c> or <c>KEY:N</c> (N ≥ 1 requests in flight). A key that itself ends in ':digits' cannot be
    /// given without a limit; <paramref name="source"/> names where the text came from for the error.
    /// </summary>
    public static ApiKeySpec Parse(string text, string source)
    {
        var trimmed = text.Trim();
        int colon = trimmed.LastIndexOf(':');
        if (colon > 0 && colon < trimmed.Length - 1 && trimmed[(colon + 1)..].All(char.IsAsciiDigit))
        {
            var key = trimmed[..colon];
            if (!int.TryParse(trimmed[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int limit) || limit < 1)
                throw new CredentialException($"{source}: the limit of API key '{Masked(key)}' must be a whole number of requests from 1 to {int.MaxValue}, got '{trimmed[(colon + 1)..]}'.");
            return new ApiKeySpec(key, limit);
        }
        if (trimmed.Length == 0) throw new CredentialException($"{source}: an API key is empty.");
        return new ApiKeySpec(trimmed, null);
    }

    /// <summary>Keys appear in errors and logs only by their first characters.</summary>
    public static string Masked(string key) => key.Length <= 6 ? "***" : key[..4] + "...";

    public override string ToString() => MaxConcurrent is { } n ? $"{Masked(Key)} (at most {n} in flight)" : Masked(Key);
}
