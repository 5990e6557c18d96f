using InferServe.Tokenization;

namespace InferServe.Grammar.Matching;

/// <summary>
/// A tokenizer's token byte strings, sorted by bytes with each one's common prefix length with its predecessor:
/// a flattened trie, so a mask walk computes each shared prefix once and skips every token under a dead prefix.
/// Special tokens and empty pieces are left out; end-of-sequence ids are allowed where the grammar can end.
/// </summary>
public sealed class TokenVocabulary
{
    public int VocabSize { get; }
    public int[] EosIds { get; }
    internal int[] SortedIds { get; }
    internal int[] Lcp { get; }
    internal int[] Offsets { get; }
    internal int[] Lengths { get; }
    internal byte[] Bytes { get; }
    internal int MaxLength { get; }
    private readonly int[] _offsetById;
    private readonly int[] _lengthById;

    /// <param name="vocabSize">The model's logit count (may exceed the tokenizer's vocabulary).</param>
    public TokenVocabulary(ITokenizer tokenizer, int vocabSize, IEnumerable<int> eosIds)
    {
        VocabSize = vocabSize;
        EosIds = [.. eosIds.Where(id => (uint)id < (uint)vocabSize).Distinct().Order()];
        var eos = new HashSet<int>(EosIds);
        var pieces = new List<(int Id, byte[] Bytes)>();
        for (int id = 0; id < Math.Min(vocabSize, tokenizer.VocabSize); id++)
        {
            if (eos.Contains(id) || tokenizer.IsSpecialToken(id)) continue;
            var b = tokenizer.TokenBytes(id);
            if (b.Length > 0) pieces.Add((id, b.ToArray()));
        }
        pieces.Sort((a, b) => a.Bytes.AsSpan().SequenceCompareTo(b.Bytes));
        int n = pieces.Count;
        SortedIds = new int[n];
        Lcp = new int[n];
        Offsets = new int[n];
        Lengths = new int[n];
        _offsetById = new int[vocabSize];
        _lengthById = new int[vocabSize];
        Bytes = new byte[pieces.Sum(p => p.Bytes.Length)];
        int offset = 0;
        for (int i = 0; i < n; i++)
        {
            var (id, bytes) = pieces[i];
            SortedIds[i] = id;
            Offsets[i] = _offsetById[id] = offset;
            Lengths[i] = _lengthById[id] = bytes.Length;
            bytes.CopyTo(Bytes, offset);
            offset += bytes.Length;
            if (i > 0) Lcp[i] = bytes.AsSpan().CommonPrefixLength(pieces[i - 1].Bytes);
            MaxLength = Math.Max(MaxLength, bytes.Length);
        }
    }

    public int MaskWords => (VocabSize + 63) / 64;

    /// <summary>The bytes a grammar sees for <paramref name="id"/>; empty for special, end-of-sequence and unknown ids.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => (uint)id < (uint)VocabSize ? Bytes.AsSpan(_offsetById[id], _lengthById[id]) : default;

    public bool IsEos(int id) => Array.BinarySearch(EosIds, id) >= 0;
}
