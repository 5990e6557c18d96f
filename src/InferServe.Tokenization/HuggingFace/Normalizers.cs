using System.Text;
using System.Text.RegularExpressions;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>A tokenizer.json normalizer: rewrites each text section before pre-tokenization.</summary>
internal interface INormalizer
{
    string Normalize(string text);
}

/// <summary>NFC/NFD/NFKC/NFKD via our own tables: string.Normalize is a no-op under InvariantGlobalization.</summary>
internal sealed class UnicodeNormalizer(NormalizationForm form) : INormalizer
{
    public string Normalize(string text) => Unicode.UnicodeNormalization.Normalize(text, form);
}

internal sealed class LowercaseNormalizer : INormalizer
{
    public string Normalize(string text) => text.ToLowerInvariant();
}

/// <summary>Prepend: applied to every non-empty section, so text after a special token gets it too.</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

internal sealed class ReplaceNormalizer(string? literal, Regex? regex, string content) : INormalizer
{
    public string Normalize(string text) =>
        literal is not null ? text.Replace(literal, content, StringComparison.Ordinal) : regex!.Replace(text, content.Replace("$", "$$", StringComparison.Ordinal));
}

internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public string Normalize(string text) => (left, right) switch
    {
        (true, true) => text.Trim(),
        (true, false) => text.TrimStart(),
        (false, true) => text.TrimEnd(),
        _ => text,
    };
}

internal sealed class SequenceNormalizer(INormalizer[] normalizers) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var n in normalizers)
        {
            text = n.Normalize(text);
        }

        return text;
    }
}
