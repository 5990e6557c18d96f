using System.Buffers.Binary;
using System.Text;

namespace InferServe.Tokenization.Llama2c;

/// <summary>
/// The llama2.c tokenizer.bin format and its encode/decode semantics (run.c): a SentencePiece vocabulary
/// with spaces stored as ' ', byte fallback ids 3..258, and merges chosen by highest piece score.
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

    private Llama2cTokenizer(byte[][] pieces, float[] scores)
    {
        _pieces = pieces;
        _scores = scores;
        _lookup = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            _lookup.TryAdd(Encoding.Latin1.GetString(pieces[id]), id); // duplicates: first id wins
        }

        _spanLookup = _lookup.GetAlternateLookup<ReadOnlySpan<char>>();
        _dummyPrefixId = _lookup.GetValueOrDefault(" ", -1);

        var decodePieces = new byte[pieces.Length][];
        var special = new bool[pieces.Length];
        for (int id = 0; id < pieces.Length; id++)
        {
            decodePieces[id] = TryParseByteToken(pieces[id], out byte b) ? [b] : pieces[id];
            special[id] = id is UnkId or BosId or EosId;
        }

        _decoder = new TokenDecoder(decodePieces, special, BosId, LeadingSpaceRule.StripAfterBos, 0);
    }

    public int VocabSize => _pieces.Length;
    public int? BosTokenId => BosId;
    public IReadOnlyList<int> EosTokenIds { get; } = [EosId];
    public bool AddBosToken => true;

    public static Llama2cTokenizer Load(string path)
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

        return new Llama2cTokenizer([.. pieces], [.. scores]);
    }

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var symbols = new List<int>(text.Length + 2);
        if (text.Length > 0 && _dummyPrefixId >= 0)
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
                    symbols.Add(utf8[i] + ByteIdOffset);
                }
            }
        }

        var merged = PairMerger.Merge(symbols, new ScoreRules(this));
        if (!addSpecialTokens)
        {
            return merged;
        }

        var result = new int[merged.Length + 1];
        result[0] = BosId;
        merged.CopyTo(result, 1);
        return result;
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => _decoder.Decode(ids, skipSpecialTokens);

    public IncrementalDecoder CreateIncrementalDecoder(bool skipSpecialTokens = true) => new(_decoder, skipSpecialTokens);

    public bool IsSpecialToken(int id) => id is UnkId or BosId or EosId;

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
