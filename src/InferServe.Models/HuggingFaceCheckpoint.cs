using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.Models;

/// <summary>
/// A Hugging Face model directory: config.json, one or more *.safetensors (sharded via
/// model.safetensors.index.json), tokenizer.json, tokenizer_config.json and generation_config.json.
/// </summary>
public sealed class HuggingFaceCheckpoint : ICheckpoint
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"];

    private readonly List<SafetensorsFile> _files = [];
    private readonly Dictionary<string, SafetensorsFile> _byTensor = new(StringComparer.Ordinal);

    public ModelConfig Config { get; }
    public string? TokenizerPath { get; }
    public string? ModelDirectory { get; }
    public string Fingerprint { get; }
    public bool StopsAtBos => false;

    public HuggingFaceCheckpoint(string directory)
    {
        if (!Directory.Exists(directory)) throw new ModelLoadException($"Model directory '{directory}' does not exist.");
        ModelDirectory = Path.GetFullPath(directory);
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath)) throw new ModelLoadException($"'{directory}' has no config.json.");

        var shardPaths = FindShards(directory);
        try
        {
            foreach (var p in shardPaths)
            {
                var file = new SafetensorsFile(p);
                _files.Add(file);
                foreach (var name in file.TensorNames) _byTensor[name] = file;
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        var generationConfigPath = Path.Combine(directory, "generation_config.json");
        Config = ParseConfig(configPath, File.Exists(generationConfigPath) ? generationConfigPath : null, hasLmHead: _byTensor.ContainsKey(WeightNames.LmHead));
        var tokenizerJson = Path.Combine(directory, "tokenizer.json");
        TokenizerPath = File.Exists(tokenizerJson) ? ModelDirectory : null;
        Fingerprint = ContentHash.OfFiles(shardPaths.Append(configPath));
    }

    private static List<string> FindShards(string directory)
    {
        var index = Path.Combine(directory, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            var files = doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).Distinct().ToList();
            var missing = files.Where(f => !File.Exists(Path.Combine(directory, f))).ToList();
            if (missing.Count > 0) throw new ModelLoadException($"'{directory}' is missing safetensors shards listed in model.safetensors.index.json: {string.Join(", ", missing)}.");
            return files.Select(f => Path.Combine(directory, f)).ToList();
        }
        var all = Directory.GetFiles(directory, "*.safetensors").OrderBy(p => p, StringComparer.Ordinal).ToList();
        if (all.Count == 0) throw new ModelLoadException($"'{directory}' has no *.safetensors weights (pytorch .bin checkpoints are not supported; convert them to safetensors).");
        return all;
    }

    internal static ModelConfig ParseConfig(string configPath, string? generationConfigPath, bool hasLmHead)
    {
        JsonObject cfg;
        try
        {
            cfg = JsonNode.Parse(File.ReadAllText(configPath))?.AsObject() ?? throw new ModelLoadException($"'{configPath}' is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"'{configPath}' is not valid JSON: {e.Message}", e);
        }
        var arch = cfg["architectures"]?.AsArray().FirstOrDefault()?.GetValue<string>()
                   ?? throw new ModelLoadException($"'{configPath}' has no 'architectures' entry.");
        if (!SupportedArchitectures.Contains(arch))
            throw new ModelLoadException($"Architecture '{arch}' is not supported; supported are {string.Join(", ", SupportedArchitectures)}.");

        int Int(string key) => cfg[key]?.GetValue<int>() ?? throw new ModelLoadException($"'{configPath}' is missing '{key}'.");
        int? OptInt(string key) => cfg[key] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
        float? OptFloat(string key) => cfg[key] is JsonValue v ? (float)v.GetValue<double>() : null;

        int hidden = Int("hidden_size"), heads = Int("num_attention_heads");
        bool tie = cfg["tie_word_embeddings"] is JsonValue t ? t.GetValue<bool>() : !hasLmHead;
        if (!tie && !hasLmHead) throw new ModelLoadException($"Model is not tied (tie_word_embeddings=false) but has no '{WeightNames.LmHead}' tensor.");

        RopeScaling? scaling = null;
        if (cfg["rope_scaling"] is JsonObject rs)
        {
            var type = (rs["rope_type"] ?? rs["type"])?.GetValue<string>() ?? "default";
            scaling = type switch
            {
                "llama3" => new RopeScaling("llama3", (float)rs["factor"]!.GetValue<double>(),
                    (float)(rs["low_freq_factor"]?.GetValue<double>() ?? 1), (float)(rs["high_freq_factor"]?.GetValue<double>() ?? 4),
                    rs["original_max_position_embeddings"]?.GetValue<int>() ?? 8192),
                "linear" => new RopeScaling("linear", (float)rs["factor"]!.GetValue<double>()),
                "default" => null,
                _ => throw new ModelLoadException($"rope_scaling type '{type}' is not supported (supported: llama3, linear)."),
            };
        }

        var eos = ReadIds(cfg["eos_token_id"]);
        int? bos = OptInt("bos_token_id");
        if (generationConfigPath != null)
        {
            var gen = JsonNode.Parse(File.ReadAllText(generationConfigPath))?.AsObject();
            if (gen?["eos_token_id"] is { } ge) eos = ReadIds(ge);
            if (gen?["bos_token_id"] is JsonValue gb && gb.TryGetValue<int>(out var b)) bos = b;
        }

        var config = new ModelConfig
        {
            Architecture = arch,
            HiddenSize = hidden,
            IntermediateSize = Int("intermediate_size"),
            NumLayers = Int("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = OptInt("num_key_value_heads") ?? heads,
            HeadDim = OptInt("head_dim") ?? hidden / heads,
            VocabSize = Int("vocab_size"),
            MaxPositionEmbeddings = OptInt("max_position_embeddings") ?? 2048,
            RmsNormEps = OptFloat("rms_norm_eps") ?? 1e-6f,
            RopeTheta = OptFloat("rope_theta") ?? 10000f,
            RopeScaling = scaling,
            TieWordEmbeddings = tie,
            AttentionBias = arch == "Qwen2ForCausalLM" || (cfg["attention_bias"] is JsonValue ab && ab.GetValue<bool>()),
            BosTokenId = bos,
            EosTokenIds = eos,
        };
        config.Validate();
        return config;
    }

    private static int[] ReadIds(JsonNode? node) => node switch
    {
        JsonArray a => a.Select(x => x!.GetValue<int>()).ToArray(),
        JsonValue v when v.TryGetValue<int>(out var i) => [i],
        _ => [],
    };

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public WeightTensor Read(string name) =>
        _byTensor.TryGetValue(name, out var file)
            ? file.Read(name)
            : throw new ModelLoadException($"Checkpoint '{ModelDirectory}' has no tensor '{name}'.");

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
