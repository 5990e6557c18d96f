using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.Models;

namespace InferServe.ModelGen;

/// <summary>
/// Writes deterministic random-weight models as real Hugging Face directories (config.json,
/// model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json), so tests on a
/// fresh machine exercise the same import path as real checkpoints.
/// </summary>
public static class TestModelGenerator
{
    /// <summary>Writes the model unless <paramref name="directory"/> already holds the same spec; returns the directory.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lock> Gates = new(StringComparer.Ordinal);

    /// <summary>
    /// Writes the model into <paramref name="directory"/> unless it is already there. Safe for concurrent callers: the
    /// files are written into a sibling folder and moved into place whole, so nobody ever reads a half-written model.
    /// </summary>
    public static string Ensure(ModelSpec spec, string directory)
    {
        directory = Path.GetFullPath(directory);
        var specText = JsonSerializer.Serialize(spec);
        lock (Gates.GetOrAdd(directory, _ => new Lock()))
        {
            if (IsComplete(directory, specText)) return directory;
            var staging = $"{directory}.staging-{Environment.ProcessId}-{Guid.NewGuid():N}";
            Write(spec, staging, specText);
            try
            {
                if (Directory.Exists(directory) && !IsComplete(directory, specText)) Directory.Delete(directory, recursive: true);
                Directory.Move(staging, directory);
            }
            catch (IOException) when (IsComplete(directory, specText))
            {
                Directory.Delete(staging, recursive: true); // another process moved the same model in first
            }
            return directory;
        }
    }

    private static bool IsComplete(string directory, string specText)
    {
        var stamp = Path.Combine(directory, ".inferserve-spec");
        return File.Exists(stamp) && File.ReadAllText(stamp) == specText;
    }

    private static void Write(ModelSpec spec, string directory, string specText)
    {
        Directory.CreateDirectory(directory);
        var vocab = SyntheticByteLevelVocab.Build(spec.Vocab);
        WriteWeights(spec, Path.Combine(directory, "model.safetensors"));
        File.WriteAllText(Path.Combine(directory, "config.json"), Config(spec, vocab).ToJsonString(Indented));
        File.WriteAllText(Path.Combine(directory, "generation_config.json"), new JsonObject
        {
            ["bos_token_id"] = vocab.BosId,
            ["eos_token_id"] = new JsonArray(vocab.EosId, vocab.ImEndId),
        }.ToJsonString(Indented));
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), vocab.TokenizerJson().ToJsonString(Indented));
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), vocab.TokenizerConfig().ToJsonString(Indented));
        File.WriteAllText(Path.Combine(directory, ".inferserve-spec"), specText);
    }

    private static readonly JsonSerializerOptions Indented = HfConfigJson.Indented;

    private static JsonObject Config(ModelSpec s, SyntheticByteLevelVocab vocab) => HfConfigJson.Create(new ModelConfig
    {
        Architecture = s.Architecture,
        HiddenSize = s.Hidden,
        IntermediateSize = s.Intermediate,
        NumLayers = s.Layers,
        NumHeads = s.Heads,
        NumKvHeads = s.KvHeads,
        HeadDim = s.Hidden / s.Heads,
        VocabSize = s.Vocab,
        MaxPositionEmbeddings = s.MaxPositions,
        RmsNormEps = 1e-5f,
        RopeTheta = s.RopeTheta,
        TieWordEmbeddings = s.TieEmbeddings,
        AttentionBias = s.QkvBias,
        BosTokenId = vocab.BosId,
        EosTokenIds = [vocab.EosId],
    }, s.DType);

    private static void WriteWeights(ModelSpec s, string path)
    {
        int h = s.Hidden, f = s.Intermediate, q = s.Heads * (s.Hidden / s.Heads), kv = s.KvHeads * (s.Hidden / s.Heads);
        var layout = new List<(string Name, int[] Shape, float Scale, bool Norm)>
        {
            (WeightNames.Embedding, [s.Vocab, h], 1f, false),
        };
        for (int l = 0; l < s.Layers; l++)
        {
            layout.Add((WeightNames.AttnNorm(l), [h], 0, true));
            layout.Add((WeightNames.Q(l), [q, h], Fan(h), false));
            layout.Add((WeightNames.K(l), [kv, h], Fan(h), false));
            layout.Add((WeightNames.V(l), [kv, h], Fan(h), false));
            if (s.QkvBias)
            {
                layout.Add((WeightNames.QBias(l), [q], 0.1f, false));
                layout.Add((WeightNames.KBias(l), [kv], 0.1f, false));
                layout.Add((WeightNames.VBias(l), [kv], 0.1f, false));
            }
            layout.Add((WeightNames.O(l), [h, q], Fan(q), false));
            layout.Add((WeightNames.FfnNorm(l), [h], 0, true));
            layout.Add((WeightNames.Gate(l), [f, h], Fan(h), false));
            layout.Add((WeightNames.Up(l), [f, h], Fan(h), false));
            layout.Add((WeightNames.Down(l), [h, f], Fan(f), false));
        }
        layout.Add((WeightNames.FinalNorm, [h], 0, true));
        if (!s.TieEmbeddings) layout.Add((WeightNames.LmHead, [s.Vocab, h], Fan(h), false));

        SafetensorsWriter.Write(path, layout.Select(t => (t.Name, t.Shape)).ToList(), i =>
        {
            var (name, shape, scale, norm) = layout[i];
            var data = new float[shape.Aggregate(1L, (a, b) => a * b)];
            // Each tensor has its own stream, so adding a tensor never changes the others.
            ulong state = s.Seed ^ (ulong)StableHash(name);
            for (int j = 0; j < data.Length; j++)
            {
                float u = (float)(2 * SplitMix64.NextDouble(ref state) - 1);
                data[j] = norm ? 1f + 0.1f * u : scale * u;
            }
            return data;
        }, s.DType);
    }

    /// <summary>Uniform init bound that keeps activations O(1) through the layers.</summary>
    private static float Fan(int fanIn) => MathF.Sqrt(3f / fanIn);

    private static long StableHash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text) hash = (hash ^ c) * 1099511628211UL;
        return (long)hash;
    }
}
