using System.Collections.Concurrent;
using System.Text;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>
/// The tokenizer.json BPE model (Hugging Face tokenizers semantics): a word starts as one symbol per char
/// (or byte-fallback / unk symbols), then the adjacent pair with the lowest merge rank is merged, leftmost
/// first on ties, until no pair has a merge. A priority queue over a linked list keeps this O(n log n),
/// which matters for SentencePiece-style files where a whole section is one "word".
/// </summary>
internal sealed class BpeModel
{
    private const int MaxCachedWordLength = 256;
    private const int MaxCacheEntries = 100_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabSpan;
    private readonly Dictionary<long, (int Rank, int MergedId)> _merges;
    private readonly int _unkId;
    private readonly bool _fuseUnk;
    private readonly int[]? _byteFallbackIds; // id of "<0xXX>" per byte, -1 where missing
    private readonly bool _ignoreMerges;
    private readonly string? _continuingSubwordPrefix;
    private readonly string? _endOfWordSuffix;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public BpeModel(
        Dictionary<string, int> vocab,
        Dictionary<long, (int Rank, int MergedId)> merges,
        int? unkId,
        bool fuseUnk,
        bool byteFallback,
        bool ignoreMerges,
        string? continuingSubwordPrefix,
        string? endOfWordSuffix)
    {
        _vocab = vocab;
        _vocabSpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = merges;
        _unkId = unkId ?? -1;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        _continuingSubwordPrefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        _endOfWordSuffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        if (byteFallback)
        {
            _byteFallbackIds = new int[256];
            for (int b = 0; b < 256; b++)
            {
                _byteFallbackIds[b] = vocab.GetValueOrDefault($"<0x{b:X2}>", -1);
            }
        }
    }

    public static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0)
        {
            return;
        }

        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole); // Llama 3: a word that is itself a token is taken as is
            return;
        }

        if (word.Length <= MaxCachedWordLength && _cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }

        var ids = PairMerger.Merge(InitialSymbols(word), new RankRules(_merges));
        if (word.Length <= MaxCachedWordLength)
        {
            if (_cache.Count >= MaxCacheEntries)
            {
                _cache.Clear(); // crude bound; the cache refills with the words that matter
            }

            _cache.TryAdd(word, ids);
        }

        output.AddRange(ids);
    }

    private List<int> InitialSymbols(string word)
    {
        var symbols = new List<int>(word.Length);
        bool lastWasUnk = false;
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < word.Length;)
        {
            int length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            ReadOnlySpan<char> unit = word.AsSpan(i, length);
            bool first = i == 0;
            i += length;
            bool last = i == word.Length;

            if (TryLookupSymbol(unit, first, last, out int id))
            {
                symbols.Add(id);
                lastWasUnk = false;
                continue;
            }

            if (_byteFallbackIds is not null && TryAddByteFallback(unit, symbols, utf8))
            {
                lastWasUnk = false;
                continue;
            }

            if (_unkId >= 0 && !(_fuseUnk && lastWasUnk))
            {
                symbols.Add(_unkId);
            }

            lastWasUnk = _unkId >= 0; // without an unk token the char is dropped, as in tokenizers
        }

        return symbols;
    }

    private bool TryLookupSymbol(ReadOnlySpan<char> unit, bool first, bool last, out int id)
    {
        if (_continuingSubwordPrefix is null && _endOfWordSuffix is null)
        {
            return _vocabSpan.TryGetValue(unit, out id);
        }

        var sb = new StringBuilder();
        if (!first && _continuingSubwordPrefix is not null)
        {
            sb.Append(_continuingSubwordPrefix);
        }

        sb.Append(unit);
        if (last && _endOfWordSuffix is not null)
        {
            sb.Append(_endOfWordSuffix);
        }

        return _vocab.TryGetValue(sb.ToString(), out id);
    }

    private bool TryAddByteFallback(ReadOnlySpan<char> unit, List<int> symbols, Span<byte> utf8)
    {
        int n = Encoding.UTF8.GetBytes(unit, utf8);
        for (int k = 0; k < n; k++)
        {
            if (_byteFallbackIds![utf8[k]] < 0)
            {
                return false; // all bytes must exist, otherwise the char becomes unk
            }
        }

        for (int k = 0; k < n; k++)
        {
            symbols.Add(_byteFallbackIds![utf8[k]]);
        }

        return true;
    }

    /// <summary>BPE's rule: merge the adjacent pair with the lowest merge rank.</summary>
    private readonly struct RankRules(Dictionary<long, (int Rank, int MergedId)> merges) : IMergeRules
    {
        public bool TryGetMerge(int left, int right, out float priority, out int merged)
        {
            if (merges.TryGetValue(PairKey(left, right), out var m))
            {
                (priority, merged) = (m.Rank, m.MergedId);
                return true;
            }
            (priority, merged) = (0, 0);
            return false;
        }
    }
}
