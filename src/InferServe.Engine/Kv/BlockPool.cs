namespace InferServe.Engine.Kv;

/// <summary>Hands out KV block ids with reference counts. Not thread-safe: the engine loop owns it.</summary>
public sealed class BlockPool
{
    private readonly int[] _refCount;
    private readonly Stack<int> _free;

    public int NumBlocks { get; }
    public int FreeCount => _free.Count;
    public int UsedCount => NumBlocks - _free.Count;

    public BlockPool(int numBlocks)
    {
        if (numBlocks <= 0) throw new ArgumentOutOfRangeException(nameof(numBlocks), "The KV pool needs at least one block.");
        NumBlocks = numBlocks;
        _refCount = new int[numBlocks];
        _free = new Stack<int>(Enumerable.Range(0, numBlocks).Reverse());
    }

    public bool TryAllocate(out int block)
    {
        if (!_free.TryPop(out block)) return false;
        _refCount[block] = 1;
        return true;
    }

    public void AddRef(int block) => _refCount[block]++;

    public void Release(int block)
    {
        if (_refCount[block] <= 0) throw new InvalidOperationException($"KV block {block} released more often than allocated.");
        if (--_refCount[block] == 0) _free.Push(block);
    }

    public int RefCount(int block) => _refCount[block];
}
