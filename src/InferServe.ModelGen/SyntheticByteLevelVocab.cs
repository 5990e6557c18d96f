using System.Text;
using System.Text.Json.Nodes;

namespace InferServe.ModelGen;

/// <summary>
/// A deterministic GPT-2-style byte-level BPE vocabulary of any size: 256 byte tokens, merges of
/// frequent English letter pairs and then of earlier merges, and four special tokens at the end.
/// </summary>
internal sealed class SyntheticByteLevelVocab
{
    public static readonly string[] Specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"];
    private const string ChatMlTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private readonly List<string> _tokens = [];
    private readonly List<(string A, string B)> _merges = [];

    public int BosId => _tokens.Count;
    public int EosId => _tokens.Count + 1;
    public int ImEndId => _tokens.Count + 3;

    public static SyntheticByteLevelVocab Build(int vocabSize)
    {
        if (vocabSize < 256 + Specials.Length) throw new ArgumentOutOfRangeException(nameof(vocabSize), "Vocab must hold 256 bytes plus the special tokens.");
        var v = new SyntheticByteLevelVocab();
        var byteChars = ByteToUnicode();
        for (int b = 0; b < 256; b++) v._tokens.Add(byteChars[b].ToString());
        var known = new HashSet<string>(v._tokens);
        int target = vocabSize - Specials.Length;

        // First the prefixes of common English words (with and without a leading space), so real text
        // tokenizes into multi-byte tokens; then breadth-first extensions by one letter until full.
        const string seedText = "the and of to in is was that he it for on with as his at by be this had not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people";
        void TryAdd(string left, string right)
        {
            var joined = left + right;
            if (v._tokens.Count >= target || known.Contains(joined) || !known.Contains(left) || !known.Contains(right)) return;
            v._merges.Add((left, right));
            v._tokens.Add(joined);
            known.Add(joined);
        }
        foreach (var w in seedText.Split(' '))
        {
            foreach (var word in new[] { w, " " + w })
            {
                var mapped = string.Concat(Encoding.UTF8.GetBytes(word).Select(b => byteChars[b]));
                for (int len = 2; len <= mapped.Length; len++) TryAdd(mapped[..(len - 1)], mapped[(len - 1)..len]);
            }
        }

        var letters = " abcdefghijklmnopqrstuvwxyz".Select(ch => byteChars[(byte)ch].ToString()).ToArray();
        for (int i = 0; v._tokens.Count < target; i++)
        {
            if (i >= v._tokens.Count) throw new InvalidOperationException("Vocabulary generation stalled.");
            if (v._tokens[i].Length >= 12) continue;
            foreach (var letter in letters) TryAdd(v._tokens[i], letter);
        }
        return v;
    }

    public JsonObject TokenizerJson()
    {
        var vocab = new JsonObject();
        for (int i = 0; i < _tokens.Count; i++) vocab[_tokens[i]] = i;
        var added = new JsonArray();
        for (int i = 0; i < Specials.Length; i++)
        {
            added.Add(new JsonObject
            {
                ["id"] = _tokens.Count + i, ["content"] = Specials[i], ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        }

        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(_merges.Select(m => (JsonNode)JsonValue.Create($"{m.A} {m.B}")!).ToArray()),
            },
        };
    }

    public JsonObject TokenizerConfig() => new()
    {
        ["bos_token"] = Specials[0],
        ["eos_token"] = Specials[1],
        ["add_bos_token"] = true,
        ["add_eos_token"] = false,
        ["model_max_length"] = 1024,
        ["chat_template"] = ChatMlTemplate,
    };

    /// <summary>GPT-2's reversible byte → printable-character map.</summary>
    internal static char[] ByteToUnicode()
    {
        var map = new char[256];
        var direct = new bool[256];
        for (int b = '!'; b <= '~'; b++) direct[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) direct[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) direct[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = direct[b] ? (char)b : (char)(256 + n++);
        return map;
    }
}
