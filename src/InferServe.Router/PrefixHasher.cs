using InferServe.Contracts;

namespace InferServe.Router;

/// <summary>
/// The chained hashes of a prompt's full blocks, computed exactly as the workers' KV cache does (same salt: checkpoint
/// and weight precision as the workers report them, plus the request's cache_salt), so the gateway can match
/// prompts to the blocks workers hold without loading any weights.
/// </summary>
public static class PrefixHasher
{
    /// <summary>The blocks a worker's prefix lookup can hit: every full block before the one holding the last prompt token.</summary>
    public static BlockHash[] LookupBlocks(string saltBase, string? cacheSalt, int blockSize, IReadOnlyList<int> prompt)
    {
        int blocks = Math.Max(0, (prompt.Count - 1) / blockSize);
        var hashes = new BlockHash[blocks];
        if (blocks == 0) return hashes;
        var salt = BlockHash.Salt(saltBase + "\u0001" + cacheSalt);
        var tokens = prompt as int[] ?? [.. prompt];
        var parent = default(BlockHash);
        for (int b = 0; b < blocks; b++)
            parent = hashes[b] = BlockHash.Of(parent, tokens.AsSpan(b * blockSize, blockSize), salt);
        return hashes;
    }
}
