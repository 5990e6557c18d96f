namespace InferServe.Models;

/// <summary>Canonical tensor names: Hugging Face Llama naming, which every importer maps onto.</summary>
public static class WeightNames
{
    public const string Embedding = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";

    public static string AttnNorm(int layer) => $"model.layers.{layer}.input_layernorm.weight";
    public static string FfnNorm(int layer) => $"model.layers.{layer}.post_attention_layernorm.weight";
    public static string Q(int layer) => $"model.layers.{layer}.self_attn.q_proj.weight";
    public static string K(int layer) => $"model.layers.{layer}.self_attn.k_proj.weight";
    public static string V(int layer) => $"model.layers.{layer}.self_attn.v_proj.weight";
    public static string O(int layer) => $"model.layers.{layer}.self_attn.o_proj.weight";
    public static string QBias(int layer) => $"model.layers.{layer}.self_attn.q_proj.bias";
    public static string KBias(int layer) => $"model.layers.{layer}.self_attn.k_proj.bias";
    public static string VBias(int layer) => $"model.layers.{layer}.self_attn.v_proj.bias";
    public static string Gate(int layer) => $"model.layers.{layer}.mlp.gate_proj.weight";
    public static string Up(int layer) => $"model.layers.{layer}.mlp.up_proj.weight";
    public static string Down(int layer) => $"model.layers.{layer}.mlp.down_proj.weight";
}
