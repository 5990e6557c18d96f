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

        var merged = MergeByScore(symbols);
        if (!addSpecialTokens)
        {
            return merged;
        }

        var result = new int[merged.Length + 1];
        result[0] = BosId;
        merged.CopyTo(result, 1);
        return result;
    }

    /// <summary>
    /// run.c repeatedly merges the adjacent pair with the highest-scoring concatenation (leftmost on ties).
    /// A priority queue over a linked list gives the same merges in O(n log n) instead of O(n²).
    /// </summary>
    private int[] MergeByScore(List<int> initial)
    {
        int n = initial.Count;
        if (n < 2)
        {
            return [.. initial];
        }

        var ids = initial.ToArray();
        var next = new int[n];
        var prev = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            alive[i] = true;
        }

        var queue = new PriorityQueue<(int Left, int Right, int LeftId, int RightId, int MergedId), (float NegScore, int Pos)>();
        for (int i = 0; i + 1 < n; i++)
        {
            TryQueue(queue, ids, i, i + 1);
        }

        while (queue.TryDequeue(out var m, out _))
        {
            if (!alive[m.Left] || !alive[m.Right] || next[m.Left] != m.Right || ids[m.Left] != m.LeftId || ids[m.Right] != m.RightId)
            {
                continue; // stale: one side already merged into something else
            }

            ids[m.Left] = m.MergedId;
            alive[m.Right] = false;
            next[m.Left] = next[m.Right];
            if (next[m.Left] >= 0)
            {
                prev[next[m.Left]] = m.Left;
                TryQueue(queue, ids, m.Left, next[m.Left]);
            }

            if (prev[m.Left] >= 0)
            {
                TryQueue(queue, ids, prev[m.Left], m.Left);
            }
        }

        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i])
        {
            result.Add(ids[i]);
        }

        return [.. result];
    }

    private void TryQueue(
        PriorityQueue<(int, int, int, int, int), (float, int)> queue, int[] ids, int left, int right)
    {
        byte[] a = _pieces[ids[left]];
        byte[] b = _pieces[ids[right]];
        int length = a.Length + b.Length;
        Span<char> key = length <= 256 ? stackalloc char[length] : new char[length];
        for (int i = 0; i < a.Length; i++)
        {
            key[i] = (char)a[i];
        }

        for (int i = 0; i < b.Length; i++)
        {
            key[a.Length + i] = (char)b[i];
        }

        if (_spanLookup.TryGetValue(key, out int merged) && _scores[merged] > NoMergeScore)
        {
            queue.Enqueue((left, right, ids[left], ids[right], merged), (-_scores[merged], left));
        }
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
}
