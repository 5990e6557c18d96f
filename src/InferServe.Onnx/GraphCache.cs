using Google.Protobuf;
using InferServe.Models;

namespace InferServe.Onnx;

/// <summary>
/// Builds a model's graphs once and keeps them on disk, keyed by checkpoint content hash,
/// graph options and builder version, so a restart loads instead of rebuilding.
/// </summary>
public static class GraphCache
{
    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable("INFERSERVE_CACHE_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "inferserve");

    /// <summary>
    /// Returns the directory holding every graph for this checkpoint and options, building it if absent: the per-part
    /// graphs (embedding, two per layer, head), or with <paramref name="stepAttention"/> the whole-step graph and the head
    /// (a separate set, so neither mode builds or loads the other's weights).
    /// </summary>
    public static string Ensure(ICheckpoint checkpoint, GraphOptions options, string? root = null, Action<string>? log = null, HostAttentionOp? stepAttention = null)
    {
        root ??= DefaultRoot;
        var set = stepAttention is null ? "" : $"|step:{stepAttention.Domain}/{stepAttention.OpType}";
        var key = ContentHash.OfString($"{checkpoint.Fingerprint}|{options.CacheKey}|v{LlamaGraphs.BuilderVersion}{set}")[..24];
        var dir = Path.Combine(root, "graphs", key);
        if (File.Exists(Path.Combine(dir, "complete"))) return dir;

        var staging = $"{dir}.staging-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            var c = checkpoint.Config;
            log?.Invoke($"Building ONNX {(stepAttention is null ? "graphs" : "step graph")} ({options.Precision}) for {c.NumLayers} layers into {dir}");
            if (stepAttention is not null)
            {
                // Every weight in one graph: they go to a data file beside it (one protobuf message stops at 2 GB).
                using var weights = File.Create(Path.Combine(staging, LlamaStepGraph.DataFile));
                Save(staging, LlamaStepGraph.Name, LlamaStepGraph.Build(checkpoint, options, stepAttention, weights));
            }
            else
            {
                Save(staging, LlamaGraphs.EmbedName, LlamaGraphs.BuildEmbedding(checkpoint));
                for (int l = 0; l < c.NumLayers; l++)
                {
                    Save(staging, LlamaGraphs.AttnInName(l), LlamaGraphs.BuildAttentionInput(checkpoint, l, options));
                    Save(staging, LlamaGraphs.AttnOutName(l), LlamaGraphs.BuildAttentionOutput(checkpoint, l, options));
                }
            }
            Save(staging, LlamaGraphs.HeadName, LlamaGraphs.BuildHead(checkpoint, options));
            File.WriteAllText(Path.Combine(staging, "complete"), $"{checkpoint.Fingerprint}\n{options.CacheKey}\n");
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
                Directory.Move(staging, dir);
            }
            catch (IOException) when (File.Exists(Path.Combine(dir, "complete")))
            {
                // Another process finished the same build first; use theirs.
                Directory.Delete(staging, recursive: true);
            }
            return dir;
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    public static string PathOf(string dir, string graphName) => Path.Combine(dir, graphName + ".onnx");

    private static void Save(string dir, string name, Proto.ModelProto model)
    {
        using var stream = File.Create(PathOf(dir, name));
        model.WriteTo(stream);
    }
}
