using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using static InferServe.Tokenization.HuggingFace.HfJson;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>tokenizer.json's normalizer, pre-tokenizer and post-processor sections, parsed into the tokenizer's pipeline types.</summary>
internal static class HfPipelineReader
{
    internal static INormalizer? ParseNormalizer(JsonElement? element, string field)
    {
        if (element is not { ValueKind: JsonValueKind.Object } e)
        {
            return null;
        }

        string type = TypeOf(e, field);
        return type switch
        {
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Prepend" => new PrependNormalizer(RequiredString(e, "prepend", field)),
            "Strip" => new StripNormalizer(Optional(e, "left")?.GetBoolean() ?? true, Optional(e, "right")?.GetBoolean() ?? true),
            "Replace" => ParseReplace(e, field, (literal, regex, content) => new ReplaceNormalizer(literal, regex, content)),
            "Sequence" => new SequenceNormalizer(
                [.. Required(e, "normalizers", field + ".normalizers").EnumerateArray().Select((n, i) => ParseNormalizer(n, $"{field}.normalizers[{i}]")!)]),
            _ => throw Invalid($"{field}.type '{type}' is not supported"),
        };
    }

    internal static IPreTokenizer? ParsePreTokenizer(JsonElement? element, string field)
    {
        if (element is not { ValueKind: JsonValueKind.Object } e)
        {
            return null;
        }

        string type = TypeOf(e, field);
        switch (type)
        {
            case "ByteLevel":
                return new ByteLevelPreTokenizer(Optional(e, "add_prefix_space")?.GetBoolean() ?? true, Optional(e, "use_regex")?.GetBoolean() ?? true);
            case "Split":
                {
                    var regex = ParsePattern(Required(e, "pattern", field + ".pattern"), field + ".pattern");
                    string behavior = RequiredString(e, "behavior", field);
                    return new SplitPreTokenizer(
                        new CodePointRegex(regex),
                        Enum.TryParse<SplitBehavior>(behavior, ignoreCase: true, out var b) ? b : throw Invalid($"{field}.behavior '{behavior}' is not supported"),
                        Optional(e, "invert")?.GetBoolean() ?? false);
                }

            case "Metaspace":
                return new MetaspacePreTokenizer(ReplacementChar(e, field), ParsePrependScheme(e, field), Optional(e, "split")?.GetBoolean() ?? true);
            case "Digits":
                return new SplitPreTokenizer(
                    new CodePointRegex(new Regex(@"\p{N}", RegexOptions.CultureInvariant)),
                    Optional(e, "individual_digits")?.GetBoolean() == true ? SplitBehavior.Isolated : SplitBehavior.Contiguous,
                    invert: false);
            case "Sequence":
                return new SequencePreTokenizer(
                    [.. Required(e, "pretokenizers", field + ".pretokenizers").EnumerateArray().Select((p, i) => ParsePreTokenizer(p, $"{field}.pretokenizers[{i}]")!)]);
            default:
                throw Invalid($"{field}.type '{type}' is not supported");
        }
    }

    internal static (List<int> Prefix, List<int> Suffix) ParsePostProcessor(JsonElement? element, string field, Dictionary<string, int> tokenToId)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (element is not { ValueKind: JsonValueKind.Object } e)
        {
            return (prefix, suffix);
        }

        string type = TypeOf(e, field);
        switch (type)
        {
            case "ByteLevel":
                break;
            case "TemplateProcessing":
                {
                    var specials = Optional(e, "special_tokens");
                    bool seenSequence = false;
                    foreach (var item in Required(e, "single", field + ".single").EnumerateArray())
                    {
                        if (item.TryGetProperty("Sequence", out _))
                        {
                            seenSequence = true;
                            continue;
                        }

                        string name = Required(Required(item, "SpecialToken", field + ".single[].SpecialToken"), "id", field + ".single[].SpecialToken.id").GetString()!;
                        var ids = specials is JsonElement s && s.TryGetProperty(name, out var spec) && spec.TryGetProperty("ids", out var idArray)
                            ? idArray.EnumerateArray().Select(x => x.GetInt32()).ToList()
                            : tokenToId.TryGetValue(name, out int id) ? [id] : throw Invalid($"{field}: special token '{name}' is unknown");
                        (seenSequence ? suffix : prefix).AddRange(ids);
                    }

                    break;
                }

            case "BertProcessing" or "RobertaProcessing":
                prefix.Add(Required(e, "cls", field + ".cls")[1].GetInt32());
                suffix.Add(Required(e, "sep", field + ".sep")[1].GetInt32());
                break;
            case "Sequence":
                int index = 0;
                foreach (var p in Required(e, "processors", field + ".processors").EnumerateArray())
                {
                    var (pre, post) = ParsePostProcessor(p, $"{field}.processors[{index++}]", tokenToId);
                    prefix.AddRange(pre);
                    suffix.InsertRange(0, post);
                }

                break;
            default:
                throw Invalid($"{field}.type '{type}' is not supported");
        }

        return (prefix, suffix);
    }

    internal static T ParseReplace<T>(JsonElement e, string field, Func<string?, Regex?, string, T> create)
    {
        var pattern = Required(e, "pattern", field + ".pattern");
        string content = RequiredString(e, "content", field);
        return pattern.TryGetProperty("String", out var literal)
            ? create(literal.GetString() ?? "", null, content)
            : create(null, ParsePattern(pattern, field + ".pattern"), content);
    }

    internal static Regex ParsePattern(JsonElement pattern, string field)
    {
        if (pattern.TryGetProperty("String", out var literal))
        {
            return new Regex(Regex.Escape(literal.GetString() ?? ""), RegexOptions.CultureInvariant);
        }

        if (!pattern.TryGetProperty("Regex", out var regex) || regex.GetString() is not string source)
        {
            throw Invalid($"{field} must have a String or Regex member");
        }

        try
        {
            return new Regex(PatternTranslator.ToDotNet(source), RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            throw Invalid($"{field}.Regex cannot be translated to a .NET regex: {ex.Message}");
        }
    }

    internal static char ReplacementChar(JsonElement e, string field)
    {
        string replacement = RequiredString(e, "replacement", field);
        return replacement.Length == 1 ? replacement[0] : throw Invalid($"{field}.replacement must be a single char");
    }

    /// <summary>Newer files say prepend_scheme; older ones only add_prefix_space.</summary>
    internal static PrependScheme ParsePrependScheme(JsonElement e, string field) => Optional(e, "prepend_scheme")?.GetString() switch
    {
        "always" => PrependScheme.Always,
        "first" => PrependScheme.First,
        "never" => PrependScheme.Never,
        null => Optional(e, "add_prefix_space")?.GetBoolean() == false ? PrependScheme.Never : PrependScheme.Always,
        var other => throw Invalid($"{field}.prepend_scheme '{other}' is not supported"),
    };
}
