using System.Text.Json;

namespace InferServe.Hub;

/// <summary>Which files of a repo the server needs, and whether a snapshot already holds a loadable model.</summary>
public static class ModelFiles
{
    private static readonly HashSet<string> Named = new(StringComparer.Ordinal)
    {
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "model.safetensors.index.json", "chat_template.jinja",
    };

    /// <summary>Config, tokenizer and generation files and the safetensors weights at the repo root; with a chosen file, that file too.</summary>
    public static bool Needed(string path, string? chosenFile)
    {
        if (chosenFile is not null && path == chosenFile) return true;
        if (path.Contains('/')) return false;
        // A llama2.c checkpoint's tokenizer sits beside it as tokenizer.bin or tok<vocab>.bin.
        if (chosenFile?.EndsWith(".bin", StringComparison.Ordinal) == true && IsLlama2cTokenizer(path)) return true;
        // With a chosen file (a GGUF) the safetensors weights are not downloaded beside it.
        return Named.Contains(path) || (chosenFile is null && path.EndsWith(".safetensors", StringComparison.Ordinal));
    }

    /// <summary>
    /// A cached snapshot is complete when it has the chosen file, or config.json and every weight shard (one
    /// model.safetensors, or all shards of model.safetensors.index.json).
    /// </summary>
    public static bool IsComplete(string snapshotDir, string? chosenFile)
    {
        if (!Directory.Exists(snapshotDir)) return false;
        if (chosenFile is not null) return File.Exists(Path.Combine(snapshotDir, chosenFile));
        if (!File.Exists(Path.Combine(snapshotDir, "config.json"))) return false;
        var index = Path.Combine(snapshotDir, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
                return doc.RootElement.GetProperty("weight_map").EnumerateObject()
                    .Select(p => p.Value.GetString()).Distinct().All(f => f is not null && File.Exists(Path.Combine(snapshotDir, f)));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return false;
            }
        }
        return Directory.EnumerateFiles(snapshotDir, "*.safetensors").Any(File.Exists);
    }

    private static bool IsLlama2cTokenizer(string path) =>
        path == "tokenizer.bin" || (path.StartsWith("tok", StringComparison.Ordinal) && path.EndsWith(".bin", StringComparison.Ordinal) && path[3..^4].All(char.IsAsciiDigit) && path.Length > 7);
}
