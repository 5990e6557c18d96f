using System.Text;
using System.Text.RegularExpressions;
using InferServe.Tokenization.HuggingFace;
using InferServe.Tokenization.Llama2c;

namespace InferServe.Tokenization.Gguf;

/// <summary>The tokenizer arrays and flags of a GGUF file's tokenizer.* metadata, as plain values.</summary>
public sealed record GgufVocabulary
{
    /// <summary>tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE).</summary>
    public required string Model { get; init; }
    /// <summary>tokenizer.ggml.pre: names the pre-tokenizer regex of a gpt2 vocabulary.</summary>
    public string? Pre { get; init; }
    public required string[] Tokens { get; init; }
    public float[]? Scores { get; init; }
    public int[]? TokenTypes { get; init; }
    public string[]? Merges { get; init; }
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public int? EotId { get; init; }
    public int? EomId { get; init; }
    public int? UnkId { get; init; }
    public bool? AddBos { get; init; }
    public bool? AddEos { get; init; }
    public bool? AddSpacePrefix { get; init; }
    public string? ChatTemplate { get; init; }

    public static GgufVocabulary FromMetadata(GgufMetadata m)
    {
        int? Id(string key) => m.GetInteger(key) is long v ? (int)v : null;
        return new GgufVocabulary
        {
            Model = m.GetString("tokenizer.ggml.model") ?? throw new InvalidDataException("no tokenizer.ggml.model"),
            Pre = m.GetString("tokenizer.ggml.pre"),
            Tokens = m.GetArray<string>("tokenizer.ggml.tokens") ?? throw new InvalidDataException("no tokenizer.ggml.tokens"),
            Scores = m.GetArray<float>("tokenizer.ggml.scores"),
            TokenTypes = m.GetIntArray("tokenizer.ggml.token_type"),
            Merges = m.GetArray<string>("tokenizer.ggml.merges"),
            BosId = Id("tokenizer.ggml.bos_token_id"),
            EosId = Id("tokenizer.ggml.eos_token_id"),
            EotId = Id("tokenizer.ggml.eot_token_id"),
            EomId = Id("tokenizer.ggml.eom_token_id"),
            UnkId = Id("tokenizer.ggml.unknown_token_id"),
            AddBos = m.GetBool("tokenizer.ggml.add_bos_token"),
            AddEos = m.GetBool("tokenizer.ggml.add_eos_token"),
            AddSpacePrefix = m.GetBool("tokenizer.ggml.add_space_prefix"),
            ChatTemplate = m.GetString("tokenizer.chat_template"),
        };
    }
}

/// <summary>GGUF token types (llama.cpp's llama_token_type).</summary>
internal enum GgufTokenType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// Builds a tokenizer from GGUF metadata on the project's own implementations: "llama" vocabularies run the
/// SentencePiece score merges of <see cref="Llama2cTokenizer"/>, "gpt2" ones the tokenizer.json BPE pipeline.
/// </summary>
public static class GgufTokenizerLoader
{
    private const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    private const string Llama3Regex = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Regex = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>tokenizer.ggml.pre names (as llama.cpp spells them) grouped by the regexes they use.</summary>
    public static readonly IReadOnlyList<string> SupportedPreTokenizers =
        ["default", "gpt-2", "gpt2", "llama-bpe", "llama3", "smaug-bpe", "dbrx", "qwen2", "deepseek-r1-qwen", "stablelm2", "starcoder", "refact", "smollm", "codeshell"];

    /// <exception cref="TokenizerLoadException">Unreadable file or an unsupported tokenizer.</exception>
    public static GgufTokenizer Load(string path)
    {
        GgufMetadata metadata;
        try
        {
            metadata = GgufMetadata.Read(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, e.Message, e);
        }

        try
        {
            return Create(GgufVocabulary.FromMetadata(metadata));
        }
        catch (InvalidDataException e)
        {
            throw new TokenizerLoadException(path, e.Message, e);
        }
    }

    /// <exception cref="InvalidDataException">An unsupported or inconsistent vocabulary.</exception>
    public static GgufTokenizer Create(GgufVocabulary v)
    {
        int n = v.Tokens.Length;
        if (v.TokenTypes is { } types && types.Length != n) throw new InvalidDataException($"tokenizer.ggml.token_type has {types.Length} entries for {n} tokens");
        if (v.Scores is { } scores && scores.Length != n) throw new InvalidDataException($"tokenizer.ggml.scores has {scores.Length} entries for {n} tokens");
        foreach (var (name, id) in new[] { ("bos", v.BosId), ("eos", v.EosId), ("eot", v.EotId), ("eom", v.EomId), ("unknown", v.UnkId) })
        {
            if (id is int i && (uint)i >= (uint)n) throw new InvalidDataException($"tokenizer.ggml.{name}_token_id {i} is outside the {n}-token vocabulary");
        }

        ITokenizer inner = v.Model switch
        {
            "llama" => CreateSentencePiece(v),
            "gpt2" => CreateBpe(v),
            _ => throw new InvalidDataException($"tokenizer.ggml.model '{v.Model}' is not supported (supported: llama, gpt2)"),
        };
        return new GgufTokenizer(inner, v.Model, v.ChatTemplate);
    }

    private static GgufTokenType TypeOf(GgufVocabulary v, int id) => v.TokenTypes is { } t ? (GgufTokenType)t[id] : GgufTokenType.Normal;

    private static List<int> EosIds(GgufVocabulary v)
    {
        var eos = new List<int>();
        foreach (var id in new[] { v.EosId, v.EotId, v.EomId })
        {
            if (id is int i && !eos.Contains(i)) eos.Add(i);
        }
        return eos;
    }

    /// <summary>Control, unknown and the named bos/eos/unk tokens are special (skipped when decoding).</summary>
    private static bool[] SpecialFlags(GgufVocabulary v, IEnumerable<int> named)
    {
        var special = new bool[v.Tokens.Length];
        for (int id = 0; id < special.Length; id++)
        {
            special[id] = TypeOf(v, id) is GgufTokenType.Control or GgufTokenType.Unknown;
        }
        foreach (int id in named) special[id] = true;
        return special;
    }

    private static Llama2cTokenizer CreateSentencePiece(GgufVocabulary v)
    {
        int n = v.Tokens.Length;
        var pieces = new byte[n][];
        for (int id = 0; id < n; id++)
        {
            // SentencePiece spells a space "▁"; the score-merge tokenizer works on plain spaces.
            pieces[id] = Encoding.UTF8.GetBytes(v.Tokens[id].Replace('\u2581', ' '));
        }

        var eos = EosIds(v);
        var named = eos.Concat(new[] { v.BosId, v.UnkId }.OfType<int>());
        var split = Enumerable.Range(0, n).Where(id => TypeOf(v, id) is GgufTokenType.Control or GgufTokenType.UserDefined or GgufTokenType.Unknown).ToList();
        bool addSpacePrefix = v.AddSpacePrefix ?? true;
        var options = new SentencePieceOptions
        {
            BosId = v.BosId,
            EosIds = eos,
            UnkId = v.UnkId,
            AddBos = v.AddBos ?? true,
            AddEos = v.AddEos ?? false,
            AddSpacePrefix = addSpacePrefix,
            Special = SpecialFlags(v, named),
            SplitTokens = split,
            DecodeRule = addSpacePrefix ? LeadingSpaceRule.StripStartOfText : LeadingSpaceRule.None,
        };
        return Llama2cTokenizer.FromPieces(pieces, v.Scores ?? new float[n], options);
    }

    private static HfTokenizer CreateBpe(GgufVocabulary v)
    {
        int n = v.Tokens.Length;
        var vocab = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (int id = 0; id < n; id++) vocab.TryAdd(v.Tokens[id], id);

        var merges = new Dictionary<long, (int Rank, int MergedId)>(v.Merges?.Length ?? 0);
        var mergeList = v.Merges ?? throw new InvalidDataException("a gpt2 tokenizer needs tokenizer.ggml.merges");
        for (int rank = 0; rank < mergeList.Length; rank++)
        {
            string s = mergeList[rank];
            int space = s.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0) throw new InvalidDataException($"tokenizer.ggml.merges[{rank}] '{s}' is not of the form \"a b\"");
            string a = s[..space], b = s[(space + 1)..];
            if (!vocab.TryGetValue(a, out int left) || !vocab.TryGetValue(b, out int right) || !vocab.TryGetValue(a + b, out int merged))
                throw new InvalidDataException($"tokenizer.ggml.merges[{rank}] ('{a}', '{b}') uses a token missing from the vocabulary");
            merges[BpeModel.PairKey(left, right)] = (rank, merged);
        }

        string pre = v.Pre ?? "default";
        IPreTokenizer preTokenizer = pre switch
        {
            "default" or "gpt-2" or "gpt2" => new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true),
            "llama-bpe" or "llama3" or "smaug-bpe" or "dbrx" => RegexThenBytes(Llama3Regex),
            "qwen2" or "deepseek-r1-qwen" or "stablelm2" => RegexThenBytes(Qwen2Regex),
            "starcoder" or "refact" or "smollm" or "codeshell" => new SequencePreTokenizer(
                [Split(@"\p{N}"), new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true)]),
            _ => throw new InvalidDataException($"tokenizer.ggml.pre '{pre}' is not supported (supported: {string.Join(", ", SupportedPreTokenizers)})"),
        };
        // Qwen2's tokenizer.json NFC-normalizes; llama.cpp skips that, the model's own tokenizer does not.
        INormalizer? normalizer = pre is "qwen2" or "deepseek-r1-qwen" ? new UnicodeNormalizer(NormalizationForm.FormC) : null;
        bool ignoreMerges = pre is "llama-bpe" or "llama3";

        var added = new List<AddedToken>();
        for (int id = 0; id < n; id++)
        {
            var type = TypeOf(v, id);
            if (type is GgufTokenType.Control or GgufTokenType.UserDefined)
                added.Add(new AddedToken(id, v.Tokens[id], type == GgufTokenType.Control, false, false));
        }

        var eos = EosIds(v);
        var special = SpecialFlags(v, eos.Concat(new[] { v.BosId, v.UnkId }.OfType<int>()));
        var isAdded = new bool[n];
        foreach (var t in added) isAdded[t.Id] = true;
        var pieces = new byte[n][];
        for (int id = 0; id < n; id++)
        {
            pieces[id] = isAdded[id] ? Encoding.UTF8.GetBytes(v.Tokens[id]) : HfDecoderBuilder.ByteLevelBytes(v.Tokens[id]);
        }

        int[] prefix = v.AddBos == true && v.BosId is int bos ? [bos] : [];
        int[] suffix = v.AddEos == true && v.EosId is int e ? [e] : [];
        var idToToken = (string?[])v.Tokens.Clone();
        return new HfTokenizer(
            new AddedTokenSplitter(added),
            normalizer,
            preTokenizer,
            new BpeModel(vocab, merges, v.UnkId, fuseUnk: false, byteFallback: false, ignoreMerges, null, null),
            prefix,
            suffix,
            new TokenDecoder(pieces, special, v.BosId, LeadingSpaceRule.None, 0),
            special,
            idToToken,
            vocab,
            v.BosId,
            [.. eos]);
    }

    private static SplitPreTokenizer Split(string pattern) =>
        new(new CodePointRegex(new Regex(PatternTranslator.ToDotNet(pattern), RegexOptions.Compiled | RegexOptions.CultureInvariant)), SplitBehavior.Isolated, invert: false);

    private static SequencePreTokenizer RegexThenBytes(string pattern) =>
        new([Split(pattern), new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false)]);
}

/// <summary>A tokenizer read from a GGUF file, carrying the file's chat template (tokenizer.chat_template).</summary>
public sealed class GgufTokenizer : ITokenizer, IChatTemplateSource
{
    private readonly ITokenizer _inner;

    internal GgufTokenizer(ITokenizer inner, string model, string? chatTemplate)
    {
        _inner = inner;
        Model = model;
        ChatTemplate = chatTemplate;
    }

    /// <summary>tokenizer.ggml.model: "llama" or "gpt2".</summary>
    public string Model { get; }
    public string? ChatTemplate { get; }
    public int VocabSize => _inner.VocabSize;
    public int? BosTokenId => _inner.BosTokenId;
    public IReadOnlyList<int> EosTokenIds => _inner.EosTokenIds;
    public bool AddBosToken => _inner.AddBosToken;
    public int[] Encode(string text, bool addSpecialTokens = true) => _inner.Encode(text, addSpecialTokens);
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => _inner.Decode(ids, skipSpecialTokens);
    public IncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = true) => _inner.CreateIncrementalDecoder(skipSpecialTokens);
    public ReadOnlySpan<byte> TokenBytes(int id) => _inner.TokenBytes(id);

    public bool IsSpecialToken(int id) => _inner.IsSpecialToken(id);
    public string? IdToToken(int id) => _inner.IdToToken(id);
    public int? TokenToId(string token) => _inner.TokenToId(token);
}
