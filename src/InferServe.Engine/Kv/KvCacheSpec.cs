namespace InferServe.Engine.Kv;

public enum KvDType { Fp32, Fp16, Int8, Int4 }

/// <summary>Shape of the paged KV cache: every block holds <see cref="BlockSize"/> tokens for all layers.</summary>
public sealed record KvCacheSpec(int NumLayers, int NumKvHeads, int HeadDim, int BlockSize = 16, KvDType DType = KvDType.Fp32)
{
    /// <summary>Values (K or V) per token per layer.</summary>
    public int KvDim => NumKvHeads * HeadDim;

    /// <summary>Bytes one token occupies in one layer, K and V together, including quantization scales.</summary>
    public int BytesPerTokenPerLayer => DType switch
    {
        KvDType.Fp32 => 2 * KvDim * 4,
        KvDType.Fp16 => 2 * KvDim * 2,
        KvDType.Int8 => 2 * (KvDim + NumKvHeads * 4),        // 1 byte/value + fp16 scale & zero point per head
        KvDType.Int4 => 2 * (KvDim / 2 + NumKvHeads * 4),    // 2 values/byte + fp16 scale & zero point per head
        _ => throw new ArgumentOutOfRangeException(),
    };

    public long BytesPerBlock => (long)BytesPerTokenPerLayer * NumLayers * BlockSize;

    public static KvDType ParseDType(string text) => text.ToLowerInvariant() switch
    {
        "fp32" or "f32" or "float32" => KvDType.Fp32,
        "fp16" or "f16" or "float16" => KvDType.Fp16,
        "int8" or "q8" => KvDType.Int8,
        "int4" or "q4" => KvDType.Int4,
        _ => throw new ArgumentException($"Unknown KV cache dtype '{text}'; use fp32, fp16, int8 or int4."),
    };
}
