namespace InferServe.Models;

/// <summary>Architecture hyper-parameters of a Llama-family decoder, in Hugging Face terms.</summary>
public sealed record ModelConfig
{
    public required string Architecture { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int VocabSize { get; init; }
    public int HeadDim { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public float RmsNormEps { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
    public RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Qwen2 has biases on the q/k/v projections.</summary>
    public bool AttentionBias { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public int QDim => NumHeads * HeadDim;
    public int KvDim => NumKvHeads * HeadDim;
    public int GroupSize => NumHeads / NumKvHeads;

    public void Validate()
    {
        static void Require(bool ok, string what)
        {
            if (!ok) throw new ModelLoadException($"Invalid model config: {what}.");
        }
        Require(HiddenSize > 0, "hidden_size must be positive");
        Require(IntermediateSize > 0, "intermediate_size must be positive");
        Require(NumLayers > 0, "num_hidden_layers must be positive");
        Require(NumHeads > 0 && NumKvHeads > 0, "attention head counts must be positive");
        Require(NumHeads % NumKvHeads == 0, $"num_attention_heads ({NumHeads}) must be a multiple of num_key_value_heads ({NumKvHeads})");
        Require(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be positive and even for RoPE");
        Require(VocabSize > 0, "vocab_size must be positive");
        Require(MaxPositionEmbeddings > 0, "max_position_embeddings must be positive");
    }
}

/// <summary>Llama 3.x "llama3" RoPE frequency scaling, or plain linear scaling.</summary>
public sealed record RopeScaling(string Type, float Factor, float LowFreqFactor = 1f, float HighFreqFactor = 4f, int OriginalMaxPositionEmbeddings = 8192);
