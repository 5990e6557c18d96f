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
        KvDType.Int8 => 2 * (KvDim + ParamBytesPerToken),       // 1 byte/value + fp16 scale & min per group
        KvDType.Int4 => 2 * (KvDim / 2 + ParamBytesPerToken),   // 2 values/byte + fp16 scale & min per group
        _ => throw new ArgumentOutOfRangeException(),
    };

    /// <summary>fp16 scale and minimum for every quantization group of every KV head.</summary>
    private int ParamBytesPerToken => NumKvHeads * (HeadDim / QuantGroupSize(DType, HeadDim)) * 4;

    /// <summary>
    /// Channels per quantization group: the whole head for int8; for int4, groups of 32 channels
    /// (heads up to 32 channels are split in two, so tiny heads still get two ranges).
    /// </summary>
    public static int QuantGroupSize(KvDType dtype, int headDim)
    {
        if (dtype != KvDType.Int4) return headDim;
        return headDim > 32 && headDim % 32 == 0 ? 32 : headDim % 2 == 0 ? headDim / 2 : headDim;
    }

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
