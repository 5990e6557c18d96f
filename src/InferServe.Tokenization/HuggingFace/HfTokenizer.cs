namespace InferServe.Tokenization.HuggingFace;

/// <summary>
/// A Hugging Face tokenizer.json BPE tokenizer (byte-level or SentencePiece-style). Encode runs the
/// tokenizers pipeline: split on added tokens, then per section normalize, pre-tokenize and BPE each word,
/// then add the post-processor's special tokens.
/// </summary>
internal sealed class HfTokenizer : ITokenizer
{
    private readonly AddedTokenSplitter _splitter;
    private readonly INormalizer? _normalizer;
    private readonly IPreTokenizer? _preTokenizer;
    private readonly BpeModel _model;
    private readonly int[] _prefix;
    private readonly int[] _suffix;
    private readonly TokenDecoder _decoder;
    private readonly bool[] _special;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _tokenToId;

    internal HfTokenizer(
        AddedTokenSplitter splitter,
        INormalizer? normalizer,
        IPreTokenizer? preTokenizer,
        BpeModel model,
        int[] prefix,
        int[] suffix,
        TokenDecoder decoder,
        bool[] special,
        string?[] idToToken,
        Dictionary<string, int> tokenToId,
        int? bosTokenId,
        int[] eosTokenIds)
    {
        _splitter = splitter;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model;
        _prefix = prefix;
        _suffix = suffix;
        _decoder = decoder;
        _special = special;
        _idToToken = idToToken;
        _tokenToId = tokenToId;
        BosTokenId = bosTokenId;
        EosTokenIds = eosTokenIds;
    }

    public int VocabSize => _idToToken.Length;
    public int? BosTokenId { get; }
    public IReadOnlyList<int> EosTokenIds { get; }
    public bool AddBosToken => BosTokenId is int bos && _prefix.Length > 0 && _prefix[0] == bos;

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
        {
            ids.AddRange(_prefix);
        }

        var words = new List<string>();
        foreach (var section in _splitter.Split(text))
        {
            if (section.Token is not null)
            {
                ids.Add(section.Token.Id);
                continue;
            }

            string normalized = _normalizer?.Normalize(section.Text) ?? section.Text;
            if (normalized.Length == 0)
            {
                continue;
            }

            words.Clear();
            if (_preTokenizer is null)
            {
                words.Add(normalized);
            }
            else
            {
                _preTokenizer.Split(normalized, section.AtTextStart, words);
            }

            foreach (string word in words)
            {
                _model.Encode(word, ids);
            }
        }

        if (addSpecialTokens)
        {
            ids.AddRange(_suffix);
        }

        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => _decoder.Decode(ids, skipSpecialTokens);

    public IncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = true) => new(_decoder, skipSpecialTokens);

    public ReadOnlySpan<byte> TokenBytes(int id) => _decoder.Piece(id);

    public bool IsSpecialToken(int id) => (uint)id < (uint)_special.Length && _special[id];

    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _tokenToId.TryGetValue(token, out int id) ? id : null;
    }
}
