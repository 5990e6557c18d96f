using System.Text.Json.Nodes;

namespace InferServe.Tokenization.Tests;

/// <summary>Writes small hand-made tokenizer.json files into a temp directory, to pin down single behaviours.</summary>
internal sealed class TinyTokenizerJson : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"tok-{Guid.NewGuid():N}");

    public TinyTokenizerJson() => System.IO.Directory.CreateDirectory(Directory);

    public string TokenizerPath => Path.Combine(Directory, "tokenizer.json");

    /// <summary>SentencePiece-style: &lt;unk&gt;,&lt;s&gt;,&lt;/s&gt;, 256 byte tokens, then <paramref name="pieces"/>.</summary>
    public static JsonObject SentencePiece(string[] pieces, JsonNode merges)
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = b + 3;
        }

        foreach (string piece in pieces)
        {
            vocab[piece] = vocab.Count;
        }

        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                Added(0, "<unk>"), Added(1, "<s>"), Added(2, "</s>")),
            ["normalizer"] = JsonNode.Parse("""{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]}"""),
            ["pre_tokenizer"] = null,
            ["post_processor"] = JsonNode.Parse("""{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}}"""),
            ["decoder"] = JsonNode.Parse("""{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}"""),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["unk_token"] = "<unk>",
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }

    /// <summary>Byte-level: one token per byte char, then <paramref name="pieces"/> (already byte-level spelled).</summary>
    public static JsonObject ByteLevel(string[] pieces, JsonNode merges)
    {
        var vocab = new JsonObject();
        foreach (char c in Enumerable.Range(0, 256).Select(b => HuggingFace.ByteLevelAlphabet.ByteToChar[b]))
        {
            vocab[c.ToString()] = vocab.Count;
        }

        foreach (string piece in pieces)
        {
            vocab[piece] = vocab.Count;
        }

        int eot = vocab.Count;
        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(Added(eot, "<|eot|>")),
            ["pre_tokenizer"] = JsonNode.Parse("""{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}"""),
            ["decoder"] = JsonNode.Parse("""{"type":"ByteLevel"}"""),
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = merges },
        };
    }

    public static JsonObject Added(int id, string content, bool special = true, bool lstrip = false, bool rstrip = false) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["special"] = special,
        ["lstrip"] = lstrip,
        ["rstrip"] = rstrip,
        ["normalized"] = false,
        ["single_word"] = false,
    };

    public ITokenizer Load(JsonNode tokenizerJson, JsonNode? config = null)
    {
        File.WriteAllText(TokenizerPath, tokenizerJson.ToJsonString());
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(Directory, "tokenizer_config.json"), config.ToJsonString());
        }

        return TokenizerLoader.Load(Directory);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
