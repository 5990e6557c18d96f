using System.Text.Json.Nodes;
using InferServe.Models;
using InferServe.Tokenization.Llama2c;

namespace InferServe.ModelGen;

/// <summary>
/// Converts a llama2.c checkpoint (.bin and its tokenizer .bin) into a Hugging Face Llama directory: config.json,
/// generation_config.json, model.safetensors (F32, q/k rows in the HF half-split RoPE layout, as
/// <see cref="Llama2cCheckpoint"/> reads them), tokenizer.json and tokenizer_config.json (<see cref="Llama2cToHfTokenizer"/>).
/// The weights are copied exactly, so the directory computes the same logits as the .bin.
/// </summary>
public static class Llama2cToHuggingFace
{
    public static readonly IReadOnlyList<string> Files =
        ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];

    /// <summary>Writes the directory and returns its full path.</summary>
    /// <param name="tokenizerPath">The tokenizer .bin; by default tokenizer.bin or tok&lt;vocab&gt;.bin beside the checkpoint.</param>
    /// <param name="chatTemplatePath">A Jinja chat template; by default chat_template.jinja beside the checkpoint, if any.</param>
    public static string Convert(string checkpointPath, string outputDirectory, string? tokenizerPath = null, string? chatTemplatePath = null)
    {
        if (!checkpointPath.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
            throw new ModelLoadException($"'{checkpointPath}' is not a llama2.c .bin checkpoint.");
        var output = Path.GetFullPath(outputDirectory);
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new IOException($"'{output}' is not empty; choose a new directory for the converted model.");

        using var checkpoint = new Llama2cCheckpoint(checkpointPath, tokenizerPath);
        var tokenizer = checkpoint.TokenizerPath
            ?? throw new ModelLoadException($"No tokenizer .bin beside '{checkpointPath}' (tokenizer.bin or tok{checkpoint.Config.VocabSize}.bin); pass one.");
        var besideTemplate = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, "chat_template.jinja");
        chatTemplatePath ??= File.Exists(besideTemplate) ? besideTemplate : null;
        var config = checkpoint.Config with { Architecture = "LlamaForCausalLM" };
        var (tokenizerJson, tokenizerConfig) = Llama2cToHfTokenizer.Convert(
            tokenizer, config.MaxPositionEmbeddings, chatTemplatePath is null ? null : File.ReadAllText(chatTemplatePath));

        Directory.CreateDirectory(output);
        var names = HfConfigJson.WeightOrder(config).ToList();
        SafetensorsWriter.Write(Path.Combine(output, "model.safetensors"),
            names.Select(n => (Name: n, checkpoint.Read(n).Shape)).ToList(), i => checkpoint.Read(names[i]).Data);
        File.WriteAllText(Path.Combine(output, "config.json"), HfConfigJson.Create(config, "F32").ToJsonString(HfConfigJson.Indented));
        File.WriteAllText(Path.Combine(output, "generation_config.json"), new JsonObject
        {
            ["bos_token_id"] = config.BosTokenId,
            // llama2.c models end a story with BOS, where run.c (and InferServe's .bin loader) stops: BOS stops here too.
            ["eos_token_id"] = new JsonArray([.. config.EosTokenIds.Append(config.BosTokenId!.Value).Distinct().Select(id => (JsonNode)id)]),
        }.ToJsonString(HfConfigJson.Indented));
        File.WriteAllText(Path.Combine(output, "tokenizer.json"), tokenizerJson);
        File.WriteAllText(Path.Combine(output, "tokenizer_config.json"), tokenizerConfig);
        return output;
    }
}
