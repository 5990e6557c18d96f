using InferServe.Contracts;
namespace InferServe.Engine.Kv;

/// <summary>One sequence's view of the KV cache: its block table and the hashes of its full blocks.</summary>
public sealed class SequenceKv(BlockHash salt)
{
    public BlockTable Table { get; } = new();
    public BlockHash Salt { get; } = salt;
    /// <summary>Hashes of this sequence's leading full blocks, in order (computed once each).</summary>
    public List<BlockHash> FullBlockHashes { get; } = [];
    /// <summary>Leading blocks already published to the prefix cache, so each step only looks at new ones.</summary>
    public int PublishedBlocks { get; set; }
}
