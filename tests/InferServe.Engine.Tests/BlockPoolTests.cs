using InferServe.Contracts;
using InferServe.Engine.Kv;

namespace InferServe.Engine.Tests;

/// <summary>The block pool: reference counts, LRU reuse of freed blocks, and the prefix cache they keep until evicted.</summary>
public sealed class BlockPoolTests
{
    private static BlockHash Hash(int i) => BlockHash.Of(default, [i], BlockHash.Salt("test"));

    private static int Allocate(BlockPool pool)
    {
        Assert.True(pool.TryAllocate(out int block));
        return block;
    }

    [Fact(Timeout = 30_000)]
    public void Allocation_takes_the_least_recently_freed_block_first()
    {
        var pool = new BlockPool(4);
        int[] blocks = [Allocate(pool), Allocate(pool), Allocate(pool), Allocate(pool)];
        Assert.False(pool.TryAllocate(out _));
        pool.Release(blocks[2]);
        pool.Release(blocks[0]);
        pool.Release(blocks[3]);
        Assert.Equal(3, pool.FreeCount);
        Assert.Equal(blocks[2], Allocate(pool));
        Assert.Equal(blocks[0], Allocate(pool));
        Assert.Equal(blocks[3], Allocate(pool));
    }

    [Fact(Timeout = 30_000)]
    public void A_freed_cached_block_keeps_its_hash_until_allocation_evicts_it_oldest_first()
    {
        var pool = new BlockPool(3);
        int a = Allocate(pool), b = Allocate(pool), c = Allocate(pool);
        pool.MarkCached(a, Hash(1));
        pool.MarkCached(b, Hash(2));
        var events = new List<(BlockHash, bool)>();
        pool.BlockEvent += (h, added) => events.Add((h, added));
        pool.Release(a);
        pool.Release(b);
        Assert.True(pool.TryGetCached(Hash(1), out int cachedA) && cachedA == a);

        // Allocation evicts the least recently freed cached block (a), and only it.
        Assert.Equal(a, Allocate(pool));
        Assert.False(pool.TryGetCached(Hash(1), out _));
        Assert.True(pool.TryGetCached(Hash(2), out _));
        Assert.Equal(1, pool.Evictions);
        Assert.Equal([(Hash(1), false)], events);
        pool.Release(c);
    }

    [Fact(Timeout = 30_000)]
    public void Taking_a_cached_free_block_back_revives_it_without_eviction()
    {
        var pool = new BlockPool(2);
        int a = Allocate(pool);
        pool.MarkCached(a, Hash(7));
        pool.Release(a);
        Assert.Equal(2, pool.FreeCount);
        pool.AddRef(a);
        Assert.Equal(1, pool.FreeCount);
        Assert.Equal(1, pool.RefCount(a));
        int other = Allocate(pool); // the only free block is the uncached one
        Assert.NotEqual(a, other);
        Assert.Equal(0, pool.Evictions);
        Assert.True(pool.TryGetCached(Hash(7), out _));
    }

    [Fact(Timeout = 30_000)]
    public void Releasing_more_often_than_referenced_is_an_error()
    {
        var pool = new BlockPool(1);
        int a = Allocate(pool);
        pool.AddRef(a);
        pool.Release(a);
        pool.Release(a);
        Assert.Throws<InvalidOperationException>(() => pool.Release(a));
    }

    [Fact(Timeout = 30_000)]
    public void The_first_block_published_under_a_hash_wins()
    {
        var pool = new BlockPool(2);
        int a = Allocate(pool), b = Allocate(pool);
        pool.MarkCached(a, Hash(3));
        pool.MarkCached(b, Hash(3));
        Assert.True(pool.TryGetCached(Hash(3), out int winner));
        Assert.Equal(a, winner);
        Assert.Equal(1, pool.CachedCount);
    }
}

/// <summary>The KV cache manager over the pool: copy-on-write of shared blocks, prefix reuse, tail-first release.</summary>
public sealed class KvCacheManagerTests
{
    private static readonly KvCacheSpec Spec = new(NumLayers: 1, NumKvHeads: 1, HeadDim: 8, BlockSize: 4);

    private static void WriteToken(KvStorage storage, int block, int slot, float value)
    {
        var k = Enumerable.Repeat(value, Spec.HeadDim).ToArray();
        storage.Write(0, block, slot, k, k);
    }

    private static float ReadFirstKey(KvStorage storage, int block, int slot)
    {
        var keys = new float[Spec.HeadDim * Spec.BlockSize];
        storage.DequantizeKeys(0, block, 0, keys);
        return keys[slot]; // channel-major: channel 0 of every slot comes first
    }

    [Fact(Timeout = 30_000)]
    public void The_first_write_into_a_shared_partial_block_copies_it_and_leaves_the_other_owner_untouched()
    {
        using var storage = KvStorage.Create(Spec, 8);
        var kv = new KvCacheManager(Spec, 8, storage);
        var parent = new SequenceKv(default);
        Assert.True(kv.TryReserve(parent, 0, 6)); // two blocks, the second partly filled
        for (int t = 0; t < 6; t++) WriteToken(storage, parent.Table.Blocks[t / 4], t % 4, t + 1);

        var child = kv.Fork(parent);
        int shared = parent.Table.Blocks[1];
        Assert.Equal(2, kv.Pool.RefCount(shared));

        Assert.True(kv.TryReserve(child, 6, 7)); // the child writes token 6 into the shared block
        int copy = child.Table.Blocks[1];
        Assert.NotEqual(shared, copy);
        Assert.Equal(parent.Table.Blocks[0], child.Table.Blocks[0]); // full blocks stay shared
        Assert.Equal(1, kv.Pool.RefCount(shared));
        Assert.Equal(1, kv.Pool.RefCount(copy));
        Assert.Equal(5f, ReadFirstKey(storage, copy, 0)); // the copy holds what was written before the fork
        // From now on each writes its own block: neither sees the other's token 6.
        WriteToken(storage, copy, 2, 100);
        Assert.True(kv.TryReserve(parent, 6, 7));
        Assert.Equal(shared, parent.Table.Blocks[1]); // no longer shared: no copy
        WriteToken(storage, shared, 2, 50);
        Assert.Equal(100f, ReadFirstKey(storage, copy, 2));
        Assert.Equal(50f, ReadFirstKey(storage, shared, 2));

        kv.Free(child);
        kv.Free(parent);
        Assert.Equal(8, kv.Pool.FreeCount);
    }

    [Fact(Timeout = 30_000)]
    public void Freeing_releases_tail_blocks_first_so_shared_prefixes_are_evicted_last()
    {
        var kv = new KvCacheManager(Spec, 3);
        var seq = new SequenceKv(default);
        Assert.True(kv.TryReserve(seq, 0, 12));
        int[] blocks = [.. seq.Table.AsSpan()];
        kv.Free(seq);
        // The pool hands out the least recently freed first: the tail, then the middle, then the prefix.
        Assert.True(kv.Pool.TryAllocate(out int first));
        Assert.True(kv.Pool.TryAllocate(out int second));
        Assert.True(kv.Pool.TryAllocate(out int third));
        Assert.Equal(new[] { blocks[2], blocks[1], blocks[0] }, new[] { first, second, third });
    }

    [Fact(Timeout = 30_000)]
    public void A_cached_prefix_is_taken_back_but_never_the_block_holding_the_last_prompt_token()
    {
        var kv = new KvCacheManager(Spec, 8);
        int[] prompt = [1, 2, 3, 4, 5, 6, 7, 8];
        var first = new SequenceKv(default);
        Assert.True(kv.TryReserve(first, 0, prompt.Length));
        kv.CacheFullBlocks(first, prompt, prompt.Length);
        kv.Free(first);

        var again = new SequenceKv(default);
        Assert.Equal(4, kv.AcquireCachedPrefix(again, prompt)); // 2 full blocks cached, the second holds the last token
        var salted = new SequenceKv(BlockHash.Salt("other tenant"));
        Assert.Equal(0, kv.AcquireCachedPrefix(salted, prompt));
        Assert.Equal(4, kv.PrefixHitTokens);
        Assert.Equal(16, kv.PrefixQueryTokens);
    }
}
