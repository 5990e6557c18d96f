using System.Text;
using System.Text.Json;
using InferServe.Tokenization.Llama2c;
using static InferServe.Tokenization.HuggingFace.HfJson;
using static InferServe.Tokenization.HuggingFace.HfPipelineReader;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>tokenizer.json's decoder section, precomputed into per-token bytes.</summary>
internal static class HfDecoderBuilder
{
    /// <summary>
    /// Every supported decoder maps each token to a fixed string independently, plus stripping leading
    /// spaces of the whole text, so decoding is precomputed into per-id bytes.
    /// </summary>
    internal static TokenDecoder BuildDecoder(JsonElement? element, string?[] idToToken, List<AddedToken> added, bool[] special, int? bos)
    {
        bool byteLevel = false, byteFallback = false;
        int stripStart = 0;
        var replaces = new List<Func<string, string>>();

        void Visit(JsonElement e, string field)
        {
            string type = TypeOf(e, field);
            switch (type)
            {
                case "ByteLevel":
                    byteLevel = true;
                    break;
                case "ByteFallback":
                    byteFallback = true;
                    break;
                case "Fuse":
                    break;
                case "Replace":
                    replaces.Add(ParseReplace<Func<string, string>>(e, field, (literal, regex, content) =>
                        literal is not null ? s => s.Replace(literal, content, StringComparison.Ordinal) : s => regex!.Replace(s, content)));
                    break;
                case "Strip":
                    if (RequiredString(e, "content", field) != " " || (Optional(e, "stop")?.GetInt32() ?? 0) != 0)
                    {
                        throw Invalid($"{field}: only Strip of leading spaces (content ' ', stop 0) is supported");
                    }

                    stripStart += Optional(e, "start")?.GetInt32() ?? 0;
                    break;
                case "Metaspace":
                    string replacement = ReplacementChar(e, field).ToString();
                    replaces.Add(s => s.Replace(replacement, " ", StringComparison.Ordinal));
                    stripStart += ParsePrependScheme(e, field) == PrependScheme.Never ? 0 : 1;
                    break;
                case "Sequence":
                    int i = 0;
                    foreach (var d in Required(e, "decoders", field + ".decoders").EnumerateArray())
                    {
                        Visit(d, $"{field}.decoders[{i++}]");
                    }

                    break;
                default:
                    throw Invalid($"{field}.type '{type}' is not supported");
            }
        }

        if (element is { ValueKind: JsonValueKind.Object } root)
        {
            Visit(root, "decoder");
        }

        var isAdded = new bool[idToToken.Length];
        foreach (var token in added)
        {
            isAdded[token.Id] = true;
        }

        var pieces = new byte[idToToken.Length][];
        for (int id = 0; id < pieces.Length; id++)
        {
            string? token = idToToken[id];
            if (token is null)
            {
                pieces[id] = [];
                continue;
            }

            if (byteFallback && Llama2cTokenizer.TryParseByteToken(Encoding.UTF8.GetBytes(token), out byte b))
            {
                pieces[id] = [b];
                continue;
            }

            foreach (var replace in replaces)
            {
                token = replace(token);
            }

            pieces[id] = byteLevel && !isAdded[id] ? ByteLevelBytes(token) : Encoding.UTF8.GetBytes(token);
        }

        return new TokenDecoder(pieces, special, bos, stripStart > 0 ? LeadingSpaceRule.StripStartOfText : LeadingSpaceRule.None, stripStart);
    }

    /// <summary>Byte-level chars back to bytes; a token with any other char is taken as plain text (as tokenizers does).</summary>
    internal static byte[] ByteLevelBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!ByteLevelAlphabet.TryGetByte(token[i], out bytes[i]))
            {
                return Encoding.UTF8.GetBytes(token);
            }
        }

        return bytes;
    }
}
