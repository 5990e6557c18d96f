namespace InferServe.Engine.Kv;

/// <summary>The KV blocks of one sequence, in position order.</summary>
public sealed class BlockTable
{
    private int[] _blocks = new int[8];

    public int Count { get; private set; }
    /// <summary>Backing array; valid entries are [0, Count). May be replaced when the table grows.</summary>
    public int[] Blocks => _blocks;
    public ReadOnlySpan<int> AsSpan() => _blocks.AsSpan(0, Count);

    internal void Add(int block)
    {
        if (Count == _blocks.Length) Array.Resize(ref _blocks, _blocks.Length * 2);
        _blocks[Count++] = block;
    }

    internal void Clear() => Count = 0;
}
