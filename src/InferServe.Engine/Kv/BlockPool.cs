using InferServe.Contracts;
namespace InferServe.Engine.Kv;

/// <summary>
/// KV block ids with reference counts and a prefix cache. Unreferenced blocks sit in an LRU free
/// queue and keep their contents (and hash) until allocation evicts them, so a later request with
/// the same prefix can take them back. Not thread-safe: the engine loop owns it.
/// </summary>
public sealed class BlockPool
{
    private const int None = -1;
    private readonly int[] _refCount;
    private readonly BlockHash[] _hash;
    private readonly bool[] _hashed;
    // Doubly linked free queue: allocation takes the head (least recently freed).
    private readonly int[] _prev;
    private readonly int[] _next;
    private int _head = None, _tail = None;
    private readonly Dictionary<BlockHash, int> _cached = new();

    public int NumBlocks { get; }
    /// <summary>Blocks not referenced by any sequence, cached or not.</summary>
    public int FreeCount { get; private set; }
    public int UsedCount => NumBlocks - FreeCount;
    public int CachedCount => _cached.Count;
    public long Evictions { get; private set; }
    /// <summary>A hash entered (true) or left (false) the prefix cache; routers track where prefixes live from it.</summary>
    public event Action<BlockHash, bool>? BlockEvent;

    public BlockPool(int numBlocks)
    {
        if (numBlocks <= 0) throw new ArgumentOutOfRangeException(nameof(numBlocks), "The KV pool needs at least one block.");
        NumBlocks = numBlocks;
        _refCount = new int[numBlocks];
        _hash = new BlockHash[numBlocks];
        _hashed = new bool[numBlocks];
        _prev = new int[numBlocks];
        _next = new int[numBlocks];
        for (int b = 0; b < numBlocks; b++) Append(b);
        FreeCount = numBlocks;
    }

    public bool TryAllocate(out int block)
    {
        block = _head;
        if (block == None) return false;
        Unlink(block);
        FreeCount--;
        if (_hashed[block])
        {
            _cached.Remove(_hash[block]);
            _hashed[block] = false;
            Evictions++;
            BlockEvent?.Invoke(_hash[block], false);
        }
        _refCount[block] = 1;
        return true;
    }

    /// <summary>Takes a reference to a block, reviving it from the free queue if unreferenced.</summary>
    public void AddRef(int block)
    {
        if (_refCount[block]++ == 0)
        {
            Unlink(block);
            FreeCount--;
        }
    }

    public void Release(int block)
    {
        if (_refCount[block] <= 0) throw new InvalidOperationException($"KV block {block} released more often than referenced.");
        if (--_refCount[block] == 0)
        {
            Append(block);
            FreeCount++;
        }
    }

    public int RefCount(int block) => _refCount[block];

    public bool TryGetCached(BlockHash hash, out int block) => _cached.TryGetValue(hash, out block);

    /// <summary>Publishes a full block's content hash; the first block with a given hash wins.</summary>
    public void MarkCached(int block, BlockHash hash)
    {
        if (_hashed[block] || !_cached.TryAdd(hash, block)) return;
        _hash[block] = hash;
        _hashed[block] = true;
        BlockEvent?.Invoke(hash, true);
    }

    public BlockHash[] CachedHashes() => [.. _cached.Keys];

    /// <summary>Drops every cached hash (e.g. after weights change). Blocks stay allocated as they are.</summary>
    public void ResetPrefixCache()
    {
        if (BlockEvent is { } handler) foreach (var hash in _cached.Keys) handler(hash, false);
        _cached.Clear();
        Array.Clear(_hashed);
    }

    private void Append(int block)
    {
        _prev[block] = _tail;
        _next[block] = None;
        if (_tail != None) _next[_tail] = block;
        else _head = block;
        _tail = block;
    }

    private void Unlink(int block)
    {
        int p = _prev[block], n = _next[block];
        if (p != None) _next[p] = n;
        else _head = n;
        if (n != None) _prev[n] = p;
        else _tail = p;
        _prev[block] = _next[block] = None;
    }
}
