using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace InferServe.Contracts;

/// <summary>
/// Content address of a full KV block: SHA-256 over (parent hash, the block's token ids, salt),
/// truncated to 128 bits. Chaining makes a hit imply the whole prefix matches.
/// </summary>
public readonly record struct BlockHash(ulong Hi, ulong Lo)
{
    public static BlockHash Of(BlockHash parent, ReadOnlySpan<int> tokens, BlockHash salt)
    {
        Span<byte> input = stackalloc byte[32 + tokens.Length * 4];
        MemoryMarshal.Write(input, parent.Hi);
        MemoryMarshal.Write(input[8..], parent.Lo);
        MemoryMarshal.Write(input[16..], salt.Hi);
        MemoryMarshal.Write(input[24..], salt.Lo);
        MemoryMarshal.AsBytes(tokens).CopyTo(input[32..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input, digest);
        return new BlockHash(MemoryMarshal.Read<ulong>(digest), MemoryMarshal.Read<ulong>(digest[8..]));
    }

    /// <summary>A salt from anything that changes the KV for the same tokens: model, adapter, per-request cache_salt.</summary>
    public static BlockHash Salt(string text)
    {
        var digest = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        return new BlockHash(MemoryMarshal.Read<ulong>(digest), MemoryMarshal.Read<ulong>(digest.AsSpan(8)));
    }
}
