using System.Buffers.Binary;
using System.Text;
using InferServe.Tokenization.HuggingFace;

namespace InferServe.Tokenization.Llama2c;

/// <summary>
/// The llama2.c tokenizer.bin format and its encode/decode semantics (run.c): a SentencePiece vocabulary
/// with spaces stored as ' ', byte fallback ids 3..258, and merges chosen by highest piece score.
/// GGUF "llama" vocabularies reuse it through <see cref="SentencePieceOptions"/> (their own special ids,
/// byte tokens found by name, special-token splitting as llama.cpp does).
/// </summary>
internal sealed class Llama2cTokenizer : ITokenizer
{
    private const int UnkId = 0;
    private const int BosId = 1;
    private const int EosId = 2;
    private const int ByteIdOffset = 3;
    private const float NoMergeScore = -1e10f; // run.c's initial best score: pairs at or below it never merge

    private readonly byte[][] _pieces;
    private readonly float[] _scores;
    private readonly Dictionary<string, int> _lookup; // piece bytes as Latin-1 chars (one char per byte)
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanLookup;
    private readonly TokenDecoder _decoder;
    private readonly int _dummyPrefixId;
    private readonly bool[] _special;
    private readonly int[] _byteIds; // token of each byte value, for characters missing from the vocabulary
    private readonly SentencePieceOptions _options;
    private readonly AddedTokenSplitter? _splitter;

    private Llama2cTokenizer(byte[][] pieces, float[] scores, SentencePieceOptions? options = null)
    {
        _pieces = pieces;
        _scores = scores;
        _options = options ?? SentencePieceOptions.Llama2c;
        _lookup = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            _lookup.TryAdd(Encoding.Latin1.GetString(pieces[id]), id); // duplicates: first id wins
        }

        _spanLookup = _lookup.GetAlternateLookup<ReadOnlySpan<char>>();
        _dummyPrefixId = _lookup.GetValueOrDefault(" ", -1);

        var decodePieces = new byte[pieces.Length][];
        _special = new bool[pieces.Length];
        _byteIds = new int[256];
        Array.Fill(_byteIds, -1);
        for (int id = 0; id < pieces.Length; id++)
        {
            bool isByte = TryParseByteToken(pieces[id], out byte b);
            decodePieces[id] = isByte ? [b] : pieces[id];
            if (isByte && _byteIds[b] < 0) _byteIds[b] = id;
            _special[id] = _options.Special?[id] ?? id is UnkId or BosId or EosId;
        }

        if (options is null)
        {
            // run.c's fixed layout; a vocabulary too short for it (a damaged file) has no byte fallback past its end.
            for (int b = 0; b < 256; b++) _byteIds[b] = b + ByteIdOffset < pieces.Length ? b + ByteIdOffset : -1;
        }
        else if (_options.SplitTokens.Count > 0)
        {
            _splitter = new AddedTokenSplitter(_options.SplitTokens.Select(id => new AddedToken(id, Encoding.UTF8.GetString(pieces[id]), _special[id], false, false)));
        }

        _decoder = new TokenDecoder(decodePieces, _special, _options.BosId, _options.DecodeRule, _options.DecodeRule == LeadingSpaceRule.StripStartOfText ? 1 : 0);
    }

    /// <summary>A SentencePiece vocabulary from GGUF metadata (spaces already turned from "▁" into ' ').</summary>
    internal static Llama2cTokenizer FromPieces(byte[][] pieces, float[] scores, SentencePieceOptions options) => new(pieces, scores, options);

    public int VocabSize => _pieces.Length;
    public int? BosTokenId => _options.BosId;
    public IReadOnlyList<int> EosTokenIds => _options.EosIds;
    public bool AddBosToken => _options.AddBos && _options.BosId is not null;

    public static Llama2cTokenizer Load(string path)
    {
        var (pieces, scores) = ReadVocabulary(path);
        return new Llama2cTokenizer(pieces, scores);
    }

    /// <summary>The pieces (raw bytes, spaces as ' ') and scores of a tokenizer.bin, in id order.</summary>
    internal static (byte[][] Pieces, float[] Scores) ReadVocabulary(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, "cannot read llama2.c tokenizer file", e);
        }

        if (data.Length < 4)
        {
            throw new TokenizerLoadException(path, "llama2.c tokenizer is missing its max_token_length header");
        }

        var pieces = new List<byte[]>();
        var scores = new List<float>();
        int offset = 4;
        while (offset < data.Length)
        {
            if (data.Length - offset < 8)
            {
                throw new TokenizerLoadException(path, $"llama2.c tokenizer entry {pieces.Count} is truncated (score/length)");
            }

            float score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offset));
            int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 4));
            offset += 8;
            if (length < 0 || length > data.Length - offset)
            {
                throw new TokenizerLoadException(path, $"llama2.c tokenizer entry {pieces.Count} has invalid byte length {length}");
            }

            pieces.Add(data.AsSpan(offset, length).ToArray());
            scores.Add(score);
            offset += length;
        }

        if (pieces.Count <= EosId)
        {
            throw new TokenizerLoadException(path, $"llama2.c tokenizer has only {pieces.Count} tokens; ids 0-2 (unk, BOS, EOS) are required");
        }

        return ([.. pieces], [.. scores]);
    }

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<int>(text.Length / 2 + 4);
        if (addSpecialTokens && AddBosToken)
        {
            result.Add(_options.BosId!.Value);
        }

        if (_splitter is null)
        {
            result.AddRange(EncodeText(text, _options.AddSpacePrefix && _dummyPrefixId >= 0));
        }
        else
        {
            // llama.cpp: special-token strings become their ids; each text run after one (or at the start) gets the space prefix.
            bool afterSpecial = true;
            foreach (var section in _splitter.Split(text))
            {
                if (section.Token is not null)
                {
                    result.Add(section.Token.Id);
                    afterSpecial = true;
                    continue;
                }

                result.AddRange(EncodeText(section.Text, afterSpecial && _options.AddSpacePrefix && _dummyPrefixId >= 0));
                afterSpecial = false;
            }
        }

        if (addSpecialTokens && _options.AddEos && _options.EosIds.Count > 0)
        {
            result.Add(_options.EosIds[0]);
        }

        return [.. result];
    }

    private int[] EncodeText(string text, bool dummyPrefix)
    {
        var symbols = new List<int>(text.Length + 2);
        if (text.Length == 0)
        {
            return [];
        }

        if (dummyPrefix)
        {
            symbols.Add(_dummyPrefixId); // add_dummy_prefix
        }

        Span<byte> utf8 = stackalloc byte[4];
        Span<char> latin1 = stackalloc char[4];
        foreach (Rune rune in text.EnumerateRunes())
        {
            int n = rune.EncodeToUtf8(utf8);
            for (int i = 0; i < n; i++)
            {
                latin1[i] = (char)utf8[i];
            }

            if (_spanLookup.TryGetValue(latin1[..n], out int id))
            {
                symbols.Add(id);
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    int byteId = _byteIds[utf8[i]];
                    if (byteId >= 0)
                    {
                        symbols.Add(byteId);
                    }
                    else if (_options.UnkId is int unk)
                    {
                        symbols.Add(unk); // no byte-fallback token: the whole character is unknown
                        break;
                    }
                }
            }
        }

        return PairMerger.Merge(symbols, new ScoreRules(this));
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => _decoder.Decode(ids, skipSpecialTokens);

    public IncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = true) => new(_decoder, skipSpecialTokens);

    public ReadOnlySpan<byte> TokenBytes(int id) => _decoder.Piece(id);

    public bool IsSpecialToken(int id) => (uint)id < (uint)_special.Length && _special[id];

    public string? IdToToken(int id) => (uint)id < (uint)_pieces.Length ? Encoding.UTF8.GetString(_pieces[id]) : null;

    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _lookup.TryGetValue(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(token)), out int id) ? id : null;
    }

    /// <summary>Byte-fallback pieces are spelled exactly "&lt;0xXX&gt;".</summary>
    internal static bool TryParseByteToken(ReadOnlySpan<byte> piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece[0] == '<' && piece[1] == '0' && piece[2] == 'x' && piece[5] == '>'
            && byte.TryParse(Encoding.ASCII.GetString(piece[3..5]), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }

    /// <summary>run.c's rule: merge the adjacent pair whose concatenation is in the vocabulary with the highest score.</summary>
    private readonly struct ScoreRules(Llama2cTokenizer tokenizer) : IMergeRules
    {
        public bool TryGetMerge(int left, int right, out float priority, out int merged)
        {
            byte[] a = tokenizer._pieces[left], b = tokenizer._pieces[right];
            int length = a.Length + b.Length;
            Span<char> key = length <= 256 ? stackalloc char[length] : new char[length];
            for (int i = 0; i < a.Length; i++) key[i] = (char)a[i];
            for (int i = 0; i < b.Length; i++) key[a.Length + i] = (char)b[i];
            if (tokenizer._spanLookup.TryGetValue(key, out merged) && tokenizer._scores[merged] > NoMergeScore)
            {
                priority = -tokenizer._scores[merged];
                return true;
            }
            priority = 0;
            return false;
        }
    }
}

/// <summary>What differs between a llama2.c tokenizer.bin and a SentencePiece vocabulary from GGUF metadata.</summary>
internal sealed record SentencePieceOptions
{
    public int? BosId { get; init; }
    public IReadOnlyList<int> EosIds { get; init; } = [];
    public int? UnkId { get; init; }
    public bool AddBos { get; init; } = true;
    public bool AddEos { get; init; }
    public bool AddSpacePrefix { get; init; } = true;
    public bool[]? Special { get; init; }

    /// <summary>Tokens whose text in the input maps straight to the id (control and user-defined tokens).</summary>
    public IReadOnlyList<int> SplitTokens { get; init; } = [];
    public LeadingSpaceRule DecodeRule { get; init; } = LeadingSpaceRule.StripAfterBos;

    public static SentencePieceOptions Llama2c { get; } = new() { BosId = 1, EosIds = [2], UnkId = 0 };
}
