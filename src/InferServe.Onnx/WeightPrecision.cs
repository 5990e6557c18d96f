namespace InferServe.Onnx;

public enum WeightPrecision { Fp32, Int8, Int4 }

/// <summary>How dense weights are stored in the graphs. Block size and accuracy level apply to INT8/INT4 (MatMulNBits).</summary>
public sealed record GraphOptions
{
    public WeightPrecision Precision { get; init; } = WeightPrecision.Fp32;
    /// <summary>Quantization block along K. 32 measured best for quality at equal speed (see docs/performance.md).</summary>
    public int BlockSize { get; init; } = 32;
    /// <summary>MatMulNBits accuracy_level: 4 computes with int8 activations (VNNI), ~4x faster than fp32 at M=1.</summary>
    public int AccuracyLevel { get; init; } = 4;

    public static WeightPrecision ParsePrecision(string text) => text.ToLowerInvariant() switch
    {
        "fp32" or "f32" or "float32" => WeightPrecision.Fp32,
        "int8" or "q8" => WeightPrecision.Int8,
        "int4" or "q4" => WeightPrecision.Int4,
        _ => throw new ArgumentException($"Unknown weight precision '{text}'; use fp32, int8 or int4."),
    };

    public string CacheKey => $"{Precision}-b{BlockSize}-a{AccuracyLevel}";
}
