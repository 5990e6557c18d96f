using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.Models;

namespace InferServe.ModelGen;

/// <summary>The config.json of a Llama-family Hugging Face checkpoint, for every model this project writes.</summary>
internal static class HfConfigJson
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="c">The model; <see cref="ModelConfig.Architecture"/> is the transformers class name.</param>
    /// <param name="dtype">safetensors dtype of the weights: F32, F16 or BF16.</param>
    public static JsonObject Create(ModelConfig c, string dtype) => new()
    {
        ["architectures"] = new JsonArray(c.Architecture),
        ["model_type"] = c.Architecture == "Qwen2ForCausalLM" ? "qwen2" : "llama",
        ["hidden_size"] = c.HiddenSize,
        ["intermediate_size"] = c.IntermediateSize,
        ["num_hidden_layers"] = c.NumLayers,
        ["num_attention_heads"] = c.NumHeads,
        ["num_key_value_heads"] = c.NumKvHeads,
        ["vocab_size"] = c.VocabSize,
        ["max_position_embeddings"] = c.MaxPositionEmbeddings,
        ["rms_norm_eps"] = c.RmsNormEps,
        ["rope_theta"] = c.RopeTheta,
        ["tie_word_embeddings"] = c.TieWordEmbeddings,
        ["bos_token_id"] = c.BosTokenId,
        ["eos_token_id"] = c.EosTokenIds.Count > 0 ? c.EosTokenIds[0] : null,
        ["hidden_act"] = "silu",
        ["torch_dtype"] = dtype switch { "F16" => "float16", "BF16" => "bfloat16", _ => "float32" },
    };

    /// <summary>Tensor names in the order transformers saves a Llama model.</summary>
    public static IEnumerable<string> WeightOrder(ModelConfig c)
    {
        yield return WeightNames.Embedding;
        for (int l = 0; l < c.NumLayers; l++)
        {
            yield return WeightNames.AttnNorm(l);
            yield return WeightNames.Q(l);
            yield return WeightNames.K(l);
            yield return WeightNames.V(l);
            if (c.AttentionBias)
            {
                yield return WeightNames.QBias(l);
                yield return WeightNames.KBias(l);
                yield return WeightNames.VBias(l);
            }
            yield return WeightNames.O(l);
            yield return WeightNames.FfnNorm(l);
            yield return WeightNames.Gate(l);
            yield return WeightNames.Up(l);
            yield return WeightNames.Down(l);
        }
        yield return WeightNames.FinalNorm;
        if (!c.TieWordEmbeddings) yield return WeightNames.LmHead;
    }
}
