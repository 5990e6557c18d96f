using System.Text;
using System.Text.Json.Nodes;

namespace InferServe.Tokenization.Llama2c;

/// <summary>
/// Turns a llama2.c tokenizer.bin (an export of a SentencePiece BPE model) back into the Hugging Face files
/// transformers' LlamaConverter writes for a SentencePiece model: a tokenizer.json laid out as Llama 2's (Prepend "▁" and
/// Replace " " → "▁" normalizer, BPE with byte_fallback, &lt;unk&gt;/&lt;s&gt;/&lt;/s&gt; added tokens, a decoder that
/// undoes "▁" and the prefix space) and a tokenizer_config.json. Merges are derived from the piece scores the way
/// LlamaConverter derives them: every split of a piece into two pieces, ranked by the whole piece's score.
/// </summary>
public static class Llama2cToHfTokenizer
{
    private const char Metaspace = '\u2581';
    private static readonly string[] SpecialPieces = ["<unk>", "<s>", "</s>"]; // llama2.c spells 1 and 2 "\n<s>\n", "\n</s>\n"

    /// <summary>tokenizer.json and tokenizer_config.json text for <paramref name="tokenizerBinPath"/>.</summary>
    /// <param name="maxLength">model_max_length (the model's context), or null to leave it out.</param>
    /// <param name="chatTemplate">chat_template for tokenizer_config.json, or null for none.</param>
    public static (string TokenizerJson, string TokenizerConfigJson) Convert(string tokenizerBinPath, int? maxLength = null, string? chatTemplate = null)
    {
        var (raw, scores) = Llama2cTokenizer.ReadVocabulary(tokenizerBinPath);
        var pieces = new string[raw.Length];
        var vocab = new Dictionary<string, int>(raw.Length, StringComparer.Ordinal);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        for (int id = 0; id < raw.Length; id++)
        {
            try
            {
                pieces[id] = id < SpecialPieces.Length ? SpecialPieces[id] : utf8.GetString(raw[id]).Replace(' ', Metaspace);
            }
            catch (DecoderFallbackException)
            {
                throw new TokenizerLoadException(tokenizerBinPath, $"piece {id} is not valid UTF-8, so it cannot be a tokenizer.json vocabulary entry");
            }

            if (!vocab.TryAdd(pieces[id], id))
            {
                throw new TokenizerLoadException(tokenizerBinPath, $"pieces {vocab[pieces[id]]} and {id} are both '{pieces[id]}'");
            }
        }

        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray([.. Enumerable.Range(0, SpecialPieces.Length).Select(id => (JsonNode)AddedToken(id))]),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = Metaspace.ToString() },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = Metaspace.ToString() }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = PostProcessor(),
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = Metaspace.ToString() }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = SpecialPieces[0],
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = new JsonObject(pieces.Select((p, id) => KeyValuePair.Create(p, (JsonNode?)id))),
                ["merges"] = new JsonArray([.. Merges(pieces, scores, vocab).Select(m => (JsonNode?)$"{m.Left} {m.Right}")]),
            },
        };

        var decoderEntries = new JsonObject();
        for (int id = 0; id < SpecialPieces.Length; id++)
        {
            var entry = AddedToken(id);
            entry.Remove("id");
            decoderEntries[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = entry;
        }

        var config = new JsonObject
        {
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["added_tokens_decoder"] = decoderEntries,
            ["bos_token"] = SpecialPieces[1],
            ["eos_token"] = SpecialPieces[2],
            ["unk_token"] = SpecialPieces[0],
            ["pad_token"] = null,
            ["clean_up_tokenization_spaces"] = false,
            ["legacy"] = true,
            ["spaces_between_special_tokens"] = false,
            ["tokenizer_class"] = "LlamaTokenizer",
        };
        if (maxLength is int max)
        {
            config["model_max_length"] = max;
        }

        if (chatTemplate is not null)
        {
            config["chat_template"] = chatTemplate;
        }

        var indented = new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return (json.ToJsonString(indented), config.ToJsonString(indented));
    }

    /// <summary>
    /// LlamaConverter's merges (transformers' generate_merges with vocab scores): for each piece in id order, each split
    /// into two pieces of the vocabulary, ordered by the parts' ids; then all of them stably ordered by the whole piece's
    /// score, then the left part's length and the right part's length (in code points), each descending.
    /// </summary>
    internal static List<(string Left, string Right)> Merges(string[] pieces, float[] scores, Dictionary<string, int> vocab)
    {
        var merges = new List<(string Left, string Right, float Score, int LeftLength, int RightLength)>();
        var local = new List<(string Left, string Right, int LeftId, int RightId)>();
        for (int id = 0; id < pieces.Length; id++)
        {
            string piece = pieces[id];
            local.Clear();
            for (int cut = 1; cut < piece.Length; cut++)
            {
                if (char.IsLowSurrogate(piece[cut]))
                {
                    continue; // a split between code points only, as Python's str slicing
                }

                string left = piece[..cut], right = piece[cut..];
                if (vocab.TryGetValue(left, out int leftId) && vocab.TryGetValue(right, out int rightId))
                {
                    local.Add((left, right, leftId, rightId));
                }
            }

            foreach (var m in local.OrderBy(m => m.LeftId).ThenBy(m => m.RightId))
            {
                merges.Add((m.Left, m.Right, scores[id], CodePoints(m.Left), CodePoints(m.Right)));
            }
        }

        return [.. merges.OrderByDescending(m => m.Score).ThenByDescending(m => m.LeftLength).ThenByDescending(m => m.RightLength).Select(m => (m.Left, m.Right))];
    }

    private static int CodePoints(string text) => text.EnumerateRunes().Count();

    private static JsonObject AddedToken(int id) => new()
    {
        ["id"] = id,
        ["content"] = SpecialPieces[id],
        ["single_word"] = false,
        ["lstrip"] = false,
        ["rstrip"] = false,
        ["normalized"] = false,
        ["special"] = true,
    };

    /// <summary>BOS before each sequence, as Llama 2's tokenizer.json.</summary>
    private static JsonObject PostProcessor()
    {
        static JsonObject Special(int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = SpecialPieces[1], ["type_id"] = typeId } };
        static JsonObject Sequence(string name, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = name, ["type_id"] = typeId } };
        return new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(Special(0), Sequence("A", 0)),
            ["pair"] = new JsonArray(Special(0), Sequence("A", 0), Special(1), Sequence("B", 1)),
            ["special_tokens"] = new JsonObject
            {
                [SpecialPieces[1]] = new JsonObject { ["id"] = SpecialPieces[1], ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray(SpecialPieces[1]) },
            },
        };
    }
}
