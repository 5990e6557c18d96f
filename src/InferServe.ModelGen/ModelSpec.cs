namespace InferServe.ModelGen;

/// <summary>Shape of a generated random-weight model.</summary>
public sealed record ModelSpec
{
    public required string Name { get; init; }
    public string Architecture { get; init; } = "LlamaForCausalLM";
    public int Hidden { get; init; } = 64;
    public int Intermediate { get; init; } = 128;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int Vocab { get; init; } = 512;
    public int MaxPositions { get; init; } = 1024;
    public bool TieEmbeddings { get; init; } = true;
    public float RopeTheta { get; init; } = 10000f;
    /// <summary>safetensors dtype: F32, F16 or BF16.</summary>
    public string DType { get; init; } = "F32";
    public ulong Seed { get; init; } = 42;

    public bool QkvBias => Architecture == "Qwen2ForCausalLM";

    /// <summary>The default tiny model: GQA, tied embeddings; fast enough for every test.</summary>
    public static ModelSpec Tiny => new() { Name = "tiny-llama" };
    public static ModelSpec TinyUntied => Tiny with { Name = "tiny-llama-untied", TieEmbeddings = false, Seed = 7 };
    /// <summary>Tiny, but with 64-channel heads, so the attention block kernels run (disaggregation tests).</summary>
    public static ModelSpec TinyH64 => Tiny with { Name = "tiny-h64", Hidden = 128, Intermediate = 256, Heads = 2, KvHeads = 1, Seed = 64 };
    public static ModelSpec TinyQwen2 => Tiny with { Name = "tiny-qwen2", Architecture = "Qwen2ForCausalLM", TieEmbeddings = false, RopeTheta = 1000000f, Seed = 11 };

    /// <summary>Real shapes with random weights, for benchmarks.</summary>
    public static ModelSpec SmolLM2_135M => new()
    {
        Name = "smollm2-135m-shape", Hidden = 576, Intermediate = 1536, Layers = 30, Heads = 9, KvHeads = 3, Vocab = 49152,
        MaxPositions = 8192, TieEmbeddings = true, RopeTheta = 100000f, DType = "BF16",
    };
    public static ModelSpec Llama32_1B => new()
    {
        Name = "llama-3.2-1b-shape", Hidden = 2048, Intermediate = 8192, Layers = 16, Heads = 32, KvHeads = 8, Vocab = 128256,
        MaxPositions = 131072, TieEmbeddings = true, RopeTheta = 500000f, DType = "BF16",
    };

    public static ModelSpec ByName(string name) => name.ToLowerInvariant() switch
    {
        "tiny" or "tiny-llama" => Tiny,
        "tiny-untied" or "tiny-llama-untied" => TinyUntied,
        "tiny-qwen2" => TinyQwen2,
        "tiny-h64" => TinyH64,
        "smollm2-135m" or "smollm2-135m-shape" => SmolLM2_135M,
        "llama-3.2-1b" or "llama-3.2-1b-shape" => Llama32_1B,
        _ => throw new ArgumentException($"Unknown model shape '{name}'; use tiny, tiny-untied, tiny-qwen2, tiny-h64, smollm2-135m or llama-3.2-1b."),
    };
}
