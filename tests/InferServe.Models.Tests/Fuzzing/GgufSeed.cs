using System.Text;

namespace InferServe.Models.Tests.Fuzzing;

/// <summary>
/// A complete, tiny llama GGUF v3 file (F32 tensors: hidden 8, 2 heads, 1 KV head, 1 layer, vocab 32) and the offsets
/// of its integer fields (counts, string lengths, value types, dims, tensor types and offsets), where mutations matter most.
/// </summary>
internal static class GgufSeed
{
    public static (byte[] Bytes, int[] FieldOffsets) Build()
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        var fields = new List<int>();
        void U32(uint v) { fields.Add((int)ms.Position); w.Write(v); }
        void U64(ulong v) { fields.Add((int)ms.Position); w.Write(v); }
        void Str(string s) { U64((ulong)Encoding.UTF8.GetByteCount(s)); w.Write(Encoding.UTF8.GetBytes(s)); }
        void KvU32(string key, uint v) { Str(key); U32(4); U32(v); }
        void KvF32(string key, float v) { Str(key); U32(6); fields.Add((int)ms.Position); w.Write(v); }
        void KvStr(string key, string v) { Str(key); U32(8); Str(v); }

        (string Name, ulong[] Dims)[] tensors =
        [
            ("token_embd.weight", [8, 32]), ("output_norm.weight", [8]),
            ("blk.0.attn_norm.weight", [8]), ("blk.0.ffn_norm.weight", [8]),
            ("blk.0.attn_q.weight", [8, 8]), ("blk.0.attn_k.weight", [8, 4]), ("blk.0.attn_v.weight", [8, 4]), ("blk.0.attn_output.weight", [8, 8]),
            ("blk.0.ffn_gate.weight", [8, 16]), ("blk.0.ffn_up.weight", [8, 16]), ("blk.0.ffn_down.weight", [16, 8]),
        ];
        U32(0x46554747);
        U32(3);
        U64((ulong)tensors.Length);
        U64(9);
        KvStr("general.architecture", "llama");
        KvU32("llama.embedding_length", 8);
        KvU32("llama.attention.head_count", 2);
        KvU32("llama.attention.head_count_kv", 1);
        KvU32("llama.feed_forward_length", 16);
        KvU32("llama.block_count", 1);
        KvU32("llama.context_length", 8);
        KvF32("llama.rope.freq_base", 10000f);
        KvU32("general.alignment", 32);

        ulong offset = 0;
        var sizes = new List<ulong>();
        foreach (var (name, dims) in tensors)
        {
            Str(name);
            U32((uint)dims.Length);
            foreach (var d in dims) U64(d);
            U32(0); // F32
            U64(offset);
            ulong bytes = dims.Aggregate(1UL, (a, b) => a * b) * 4;
            sizes.Add(bytes);
            offset += (bytes + 31) / 32 * 32;
        }
        while (ms.Position % 32 != 0) w.Write((byte)0);
        var random = new Random(5);
        foreach (var bytes in sizes)
        {
            for (ulong k = 0; k < bytes / 4; k++) w.Write((float)(random.NextDouble() - 0.5));
            while (ms.Position % 32 != 0) w.Write((byte)0);
        }
        w.Flush();
        return (ms.ToArray(), fields.ToArray());
    }
}
