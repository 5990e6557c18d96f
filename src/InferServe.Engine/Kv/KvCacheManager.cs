namespace InferServe.Engine.Kv;

/// <summary>Grows and frees sequences' block tables over a <see cref="BlockPool"/>.</summary>
public sealed class KvCacheManager
{
    public KvCacheSpec Spec { get; }
    public BlockPool Pool { get; }

    public KvCacheManager(KvCacheSpec spec, int numBlocks)
    {
        Spec = spec;
        Pool = new BlockPool(numBlocks);
    }

    public int BlocksFor(int tokens) => (tokens + Spec.BlockSize - 1) / Spec.BlockSize;

    /// <summary>Ensures the table covers <paramref name="totalTokens"/> positions; all-or-nothing.</summary>
    public bool TryReserve(BlockTable table, int totalTokens)
    {
        int needed = BlocksFor(totalTokens) - table.Count;
        if (needed <= 0) return true;
        if (needed > Pool.FreeCount) return false;
        for (int i = 0; i < needed; i++)
        {
            Pool.TryAllocate(out var block);
            table.Add(block);
        }
        return true;
    }

    public void Free(BlockTable table)
    {
        foreach (var b in table.AsSpan()) Pool.Release(b);
        table.Clear();
    }
}
