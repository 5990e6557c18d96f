using System.Text.Json;
using static InferServe.Tokenization.HuggingFace.HfDecoderBuilder;
using static InferServe.Tokenization.HuggingFace.HfJson;
using static InferServe.Tokenization.HuggingFace.HfPipelineReader;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>Builds an <see cref="HfTokenizer"/> from tokenizer.json plus optional tokenizer_config.json / generation_config.json.</summary>
internal static class HfTokenizerLoader
{
    // Used only when there is no tokenizer_config.json to name the EOS token.
    private static readonly string[] WellKnownEosTokens = ["</s>", "<|end_of_text|>", "<|eot_id|>", "<|endoftext|>", "<|im_end|>"];

    public static HfTokenizer Load(string tokenizerJsonPath)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!;
        using var json = ReadJson(tokenizerJsonPath);
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        using var config = File.Exists(configPath) ? ReadJson(configPath) : null;
        string generationPath = Path.Combine(directory, "generation_config.json");
        using var generation = File.Exists(generationPath) ? ReadJson(generationPath) : null;

        try
        {
            return Build(json.RootElement, config?.RootElement, generation?.RootElement);
        }
        catch (InvalidTokenizerFileException e)
        {
            throw new TokenizerLoadException(e.File switch
            {
                FileKind.Config => configPath,
                FileKind.Generation => generationPath,
                _ => tokenizerJsonPath,
            }, e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or IndexOutOfRangeException
                                       or ArgumentException or OverflowException)
        {
            // A value of the wrong JSON type or shape deep in one of the files (or text with an unpaired surrogate escape).
            throw new TokenizerLoadException(tokenizerJsonPath, $"a value has the wrong type or shape (in tokenizer.json or its config files): {e.Message}", e);
        }
    }

    private static JsonDocument ReadJson(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException(path, $"malformed JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, "cannot read file", e);
        }
    }

    private static HfTokenizer Build(JsonElement root, JsonElement? config, JsonElement? generation)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("the root must be a JSON object");
        }

        var model = Required(root, "model", "model");
        string type = Optional(model, "type")?.GetString() ?? (model.TryGetProperty("merges", out _) ? "BPE" : "(missing)");
        if (type != "BPE")
        {
            throw Invalid($"model.type '{type}' is not supported (only BPE)");
        }

        // Vocabulary, then added tokens on top (they may extend past the model vocabulary).
        var vocab = ReadVocab(Required(model, "vocab", "model.vocab"));
        var added = ReadAddedTokens(root);
        var tokenToId = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        foreach (var token in added)
        {
            tokenToId[token.Content] = token.Id;
        }

        int size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        var idToToken = new string?[size];
        foreach (var (token, id) in vocab)
        {
            idToToken[id] = token;
        }

        foreach (var token in added)
        {
            idToToken[token.Id] = token.Content;
        }

        string? prefix = Optional(model, "continuing_subword_prefix")?.GetString();
        var merges = ReadMerges(Required(model, "merges", "model.merges"), vocab, string.IsNullOrEmpty(prefix) ? 0 : prefix.Length);
        string? unkToken = Optional(model, "unk_token")?.GetString();
        int? unkId = unkToken is not null && vocab.TryGetValue(unkToken, out int unk) ? unk : null;
        var bpe = new BpeModel(
            vocab,
            merges,
            unkId,
            Optional(model, "fuse_unk")?.GetBoolean() ?? false,
            Optional(model, "byte_fallback")?.GetBoolean() ?? false,
            Optional(model, "ignore_merges")?.GetBoolean() ?? false,
            prefix,
            Optional(model, "end_of_word_suffix")?.GetString());

        var normalizer = ParseNormalizer(Optional(root, "normalizer"), "normalizer");
        var preTokenizer = ParsePreTokenizer(Optional(root, "pre_tokenizer"), "pre_tokenizer");
        var (templatePrefix, templateSuffix) = ParsePostProcessor(Optional(root, "post_processor"), "post_processor", tokenToId);

        // tokenizer_config.json names BOS/EOS and may switch adding them on or off.
        int? ConfigTokenId(string key)
        {
            string? content = config is JsonElement c ? TokenContent(Optional(c, key), key) : null;
            return content is not null && tokenToId.TryGetValue(content, out int id) ? id : null;
        }

        bool hasConfig = config is not null;
        int? bos = hasConfig ? ConfigTokenId("bos_token") : (templatePrefix.Count > 0 ? templatePrefix[0] : null);
        var eos = new List<int>();
        if (ConfigTokenId("eos_token") is int configEos)
        {
            eos.Add(configEos);
        }
        else if (!hasConfig)
        {
            eos.AddRange(WellKnownEosTokens.Where(tokenToId.ContainsKey).Select(t => tokenToId[t]).Take(1));
        }

        if (generation is JsonElement g && Optional(g, "eos_token_id") is JsonElement genEos)
        {
            foreach (var e in genEos.ValueKind == JsonValueKind.Array ? genEos.EnumerateArray().ToArray() : [genEos])
            {
                if (!e.TryGetInt32(out int id))
                {
                    throw new InvalidTokenizerFileException(FileKind.Generation, "eos_token_id must be an integer or an array of integers");
                }

                if (!eos.Contains(id))
                {
                    eos.Add(id);
                }
            }
        }

        if (config is JsonElement cfg)
        {
            ApplyAddFlag(cfg, "add_bos_token", bos, templatePrefix, atStart: true);
            ApplyAddFlag(cfg, "add_eos_token", eos.Count > 0 ? eos[0] : null, templateSuffix, atStart: false);
        }

        var special = new bool[size];
        foreach (var token in added.Where(t => t.Special))
        {
            special[token.Id] = true;
        }

        if (config is JsonElement cfg2)
        {
            foreach (string key in new[] { "bos_token", "eos_token", "unk_token", "pad_token" })
            {
                if (ConfigTokenId(key) is int id)
                {
                    special[id] = true;
                }
            }

            if (Optional(cfg2, "additional_special_tokens") is { ValueKind: JsonValueKind.Array } extra)
            {
                foreach (var item in extra.EnumerateArray())
                {
                    if (TokenContent(item, "additional_special_tokens") is string content && tokenToId.TryGetValue(content, out int id))
                    {
                        special[id] = true;
                    }
                }
            }
        }

        var decoder = BuildDecoder(Optional(root, "decoder"), idToToken, added, special, bos);
        return new HfTokenizer(
            new AddedTokenSplitter(added),
            normalizer,
            preTokenizer,
            bpe,
            [.. templatePrefix],
            [.. templateSuffix],
            decoder,
            special,
            idToToken,
            tokenToId,
            bos,
            [.. eos]);
    }

    private static void ApplyAddFlag(JsonElement config, string key, int? tokenId, List<int> ids, bool atStart)
    {
        if (Optional(config, key) is not { ValueKind: JsonValueKind.True or JsonValueKind.False } flag || tokenId is not int id)
        {
            return;
        }

        int index = atStart ? 0 : ids.Count - 1;
        bool present = ids.Count > 0 && ids[index] == id;
        if (flag.GetBoolean() && !present)
        {
            ids.Insert(atStart ? 0 : ids.Count, id);
        }
        else if (!flag.GetBoolean() && present)
        {
            ids.RemoveAt(index);
        }
    }

    private static Dictionary<string, int> ReadVocab(JsonElement vocab)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("model.vocab must be an object of token -> id");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out int id) || id < 0)
            {
                throw Invalid($"model.vocab['{entry.Name}'] must be a non-negative integer id");
            }

            result[entry.Name] = id;
        }

        return result;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root)
    {
        var result = new List<AddedToken>();
        if (Optional(root, "added_tokens") is not { ValueKind: JsonValueKind.Array } array)
        {
            return result;
        }

        int index = 0;
        foreach (var item in array.EnumerateArray())
        {
            string field = $"added_tokens[{index++}]";
            int id = Required(item, "id", field + ".id").TryGetInt32(out int v) && v >= 0 ? v : throw Invalid($"{field}.id must be a non-negative integer");
            string content = Required(item, "content", field + ".content").GetString() ?? throw Invalid($"{field}.content must be a string");
            result.Add(new AddedToken(
                id,
                content,
                Optional(item, "special")?.GetBoolean() ?? false,
                Optional(item, "lstrip")?.GetBoolean() ?? false,
                Optional(item, "rstrip")?.GetBoolean() ?? false));
        }

        return result;
    }

    /// <summary>Merges come as "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).</summary>
    private static Dictionary<long, (int Rank, int MergedId)> ReadMerges(JsonElement merges, Dictionary<string, int> vocab, int prefixLength)
    {
        if (merges.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("model.merges must be an array");
        }

        var result = new Dictionary<long, (int, int)>(merges.GetArrayLength());
        int rank = 0;
        foreach (var item in merges.EnumerateArray())
        {
            string a, b;
            if (item.ValueKind == JsonValueKind.String)
            {
                string s = item.GetString()!;
                int space = s.IndexOf(' ', StringComparison.Ordinal);
                if (space < 0)
                {
                    throw Invalid($"model.merges[{rank}] '{s}' is not of the form \"a b\"");
                }

                (a, b) = (s[..space], s[(space + 1)..]);
            }
            else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2)
            {
                (a, b) = (item[0].GetString() ?? "", item[1].GetString() ?? "");
            }
            else
            {
                throw Invalid($"model.merges[{rank}] must be a string \"a b\" or a pair [a, b]");
            }

            string merged = a + b[Math.Min(prefixLength, b.Length)..];
            if (!vocab.TryGetValue(a, out int left) || !vocab.TryGetValue(b, out int right) || !vocab.TryGetValue(merged, out int mergedId))
            {
                throw Invalid($"model.merges[{rank}] ('{a}', '{b}') uses a token missing from model.vocab");
            }

            result[BpeModel.PairKey(left, right)] = (rank, mergedId); // a repeated pair keeps its last rank, as in tokenizers
            rank++;
        }

        return result;
    }

    /// <summary>tokenizer_config.json writes a token as "text" or as {"content": "text", ...}.</summary>
    private static string? TokenContent(JsonElement? value, string field) => value switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("content", out var c) => c.GetString(),
        _ => throw new InvalidTokenizerFileException(FileKind.Config, $"{field} must be a string or an object with 'content'"),
    };
}
