using InferServe.Contracts;
namespace InferServe.Engine.Kv;

/// <summary>
/// Allocates, shares and frees sequences' KV blocks: prefix-cache lookups on admission, all-or-nothing
/// growth, publication of newly full blocks, copy-on-write for shared partial blocks, and release.
/// </summary>
public sealed class KvCacheManager
{
    private readonly KvStorage? _storage;

    public KvCacheSpec Spec { get; }
    public BlockPool Pool { get; }
    public bool PrefixCaching { get; }
    /// <summary>Prompt tokens looked up in the prefix cache, and how many were found.</summary>
    public long PrefixQueryTokens { get; private set; }
    public long PrefixHitTokens { get; private set; }

    public KvCacheManager(KvCacheSpec spec, int numBlocks, KvStorage? storage = null, bool prefixCaching = true)
    {
        Spec = spec;
        Pool = new BlockPool(numBlocks);
        _storage = storage;
        PrefixCaching = prefixCaching;
    }

    public int BlocksFor(int tokens) => (tokens + Spec.BlockSize - 1) / Spec.BlockSize;
    public double Usage => (double)Pool.UsedCount / Pool.NumBlocks;

    /// <summary>
    /// Admits a fresh sequence: takes cached blocks for the longest hashed prefix of <paramref name="tokens"/>
    /// and returns how many tokens they cover. At least one token is always left to compute, so the
    /// step that finishes the prompt produces logits.
    /// </summary>
    public int AcquireCachedPrefix(SequenceKv seq, ReadOnlySpan<int> tokens)
    {
        if (seq.Table.Count != 0) throw new InvalidOperationException("Prefix lookup is only for sequences without blocks.");
        int bs = Spec.BlockSize;
        PrefixQueryTokens += tokens.Length;
        if (!PrefixCaching) return 0;
        int fullBlocks = (tokens.Length - 1) / bs; // never the block holding the last prompt token
        var parent = default(BlockHash);
        for (int b = 0; b < fullBlocks; b++)
        {
            var hash = b < seq.FullBlockHashes.Count ? seq.FullBlockHashes[b] : BlockHash.Of(parent, tokens.Slice(b * bs, bs), seq.Salt);
            if (b == seq.FullBlockHashes.Count) seq.FullBlockHashes.Add(hash);
            if (!Pool.TryGetCached(hash, out var block)) break;
            Pool.AddRef(block);
            seq.Table.Add(block);
            parent = hash;
        }
        seq.PublishedBlocks = seq.Table.Count;
        int hit = seq.Table.Count * bs;
        PrefixHitTokens += hit;
        return hit;
    }

    /// <summary>
    /// Makes the table cover <paramref name="totalTokens"/> positions, and makes the block that
    /// position <paramref name="firstWrite"/> falls in private (copy-on-write). All-or-nothing.
    /// </summary>
    public bool TryReserve(SequenceKv seq, int firstWrite, int totalTokens)
    {
        var table = seq.Table;
        int needed = Math.Max(0, BlocksFor(totalTokens) - table.Count);
        int writeBlock = firstWrite / Spec.BlockSize;
        bool cow = writeBlock < table.Count && Pool.RefCount(table.Blocks[writeBlock]) > 1;
        if (needed + (cow ? 1 : 0) > Pool.FreeCount) return false;
        if (cow)
        {
            Pool.TryAllocate(out var copy);
            int shared = table.Blocks[writeBlock];
            (_storage ?? throw new InvalidOperationException("Copy-on-write needs the KV storage.")).CopyBlock(shared, copy);
            Pool.Release(shared);
            table.Blocks[writeBlock] = copy;
        }
        for (int i = 0; i < needed; i++)
        {
            Pool.TryAllocate(out var block);
            table.Add(block);
        }
        return true;
    }

    /// <summary>Publishes the sequence's blocks that became full with <paramref name="computedTokens"/> tokens in cache.</summary>
    public void CacheFullBlocks(SequenceKv seq, ReadOnlySpan<int> tokens, int computedTokens)
    {
        if (!PrefixCaching) return;
        int bs = Spec.BlockSize;
        int full = Math.Min(computedTokens / bs, seq.Table.Count);
        for (int b = seq.PublishedBlocks; b < full; b++)
        {
            if (b == seq.FullBlockHashes.Count)
                seq.FullBlockHashes.Add(BlockHash.Of(b == 0 ? default : seq.FullBlockHashes[b - 1], tokens.Slice(b * bs, bs), seq.Salt));
            Pool.MarkCached(seq.Table.Blocks[b], seq.FullBlockHashes[b]);
        }
        seq.PublishedBlocks = Math.Max(seq.PublishedBlocks, full);
    }

    /// <summary>A child that shares every block of <paramref name="parent"/> (n>1 sampling).</summary>
    public SequenceKv Fork(SequenceKv parent)
    {
        var child = new SequenceKv(parent.Salt);
        foreach (var b in parent.Table.AsSpan())
        {
            Pool.AddRef(b);
            child.Table.Add(b);
        }
        child.FullBlockHashes.AddRange(parent.FullBlockHashes);
        child.PublishedBlocks = parent.PublishedBlocks;
        return child;
    }

    /// <summary>Releases every block; tail blocks go first so they are evicted before shared prefixes.</summary>
    public void Free(SequenceKv seq)
    {
        var blocks = seq.Table.AsSpan();
        for (int i = blocks.Length - 1; i >= 0; i--) Pool.Release(blocks[i]);
        seq.Table.Clear();
        seq.PublishedBlocks = 0;
    }
}
