using System.Globalization;

namespace InferServe.Contracts;

/// <summary>Sizes as operators write them (512MiB, 2GiB, 65536), for memory budgets and body limits alike.</summary>
public static class ByteSize
{
    public static long Parse(string text)
    {
        var t = text.Trim();
        int i = 0;
        while (i < t.Length && (char.IsDigit(t[i]) || t[i] == '.')) i++;
        if (i == 0 || !double.TryParse(t[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0)
            throw new ArgumentException($"'{text}' is not a size; use e.g. 512MiB or 2GiB.");
        long unit = t[i..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => throw new ArgumentException($"'{text}' has an unknown size unit; use B, KiB, MiB, GiB or TiB."),
        };
        return (long)(number * unit);
    }
}
