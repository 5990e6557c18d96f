using System.Text.Json;

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
        try
        {
            return ReadConfig(configPath, generationConfigPath, hasLmHead);
        }
        catch (InvalidOperationException e) // System.Text.Json: a name or string with an unpaired surrogate escape
        {
            throw new ModelLoadException($"'{configPath}' (or generation_config.json) holds text that is not valid Unicode: {e.Message}", e);
        }
    }

    private static ModelConfig ReadConfig(string configPath, string? generationConfigPath, bool hasLmHead)
    {
        var cfg = new ConfigJson(configPath);
        var arch = cfg.Architecture();
        if (!SupportedArchitectures.Contains(arch))
            throw new ModelLoadException($"Architecture '{arch}' is not supported; supported are {string.Join(", ", SupportedArchitectures)}.");

        int hidden = cfg.Int("hidden_size"), heads = cfg.Int("num_attention_heads");
        bool tie = cfg.OptBool("tie_word_embeddings") ?? !hasLmHead;
        if (!tie && !hasLmHead) throw new ModelLoadException($"Model is not tied (tie_word_embeddings=false) but has no '{WeightNames.LmHead}' tensor.");

        RopeScaling? scaling = null;
        if (cfg.OptObject("rope_scaling") is { } rs)
        {
            var type = rs.OptString("rope_type") ?? rs.OptString("type") ?? "default";
            scaling = type switch
            {
                "llama3" => new RopeScaling("llama3", rs.Float("factor"), rs.OptFloat("low_freq_factor") ?? 1, rs.OptFloat("high_freq_factor") ?? 4,
                    rs.OptInt("original_max_position_embeddings") ?? 8192),
                "linear" => new RopeScaling("linear", rs.Float("factor")),
                "default" => null,
                _ => throw new ModelLoadException($"rope_scaling type '{type}' is not supported (supported: llama3, linear)."),
            };
        }

        var eos = cfg.Ids("eos_token_id");
        int? bos = cfg.OptInt("bos_token_id");
        if (generationConfigPath != null)
        {
            var gen = new ConfigJson(generationConfigPath);
            if (gen.Has("eos_token_id")) eos = gen.Ids("eos_token_id");
            bos = gen.OptInt("bos_token_id") ?? bos;
        }

        var config = new ModelConfig
        {
            Architecture = arch,
            HiddenSize = hidden,
            IntermediateSize = cfg.Int("intermediate_size"),
            NumLayers = cfg.Int("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = cfg.OptInt("num_key_value_heads") ?? heads,
            HeadDim = cfg.OptInt("head_dim") ?? (heads > 0 ? hidden / heads : 0),
            VocabSize = cfg.Int("vocab_size"),
            MaxPositionEmbeddings = cfg.OptInt("max_position_embeddings") ?? 2048,
            RmsNormEps = cfg.OptFloat("rms_norm_eps") ?? 1e-6f,
            RopeTheta = cfg.OptFloat("rope_theta") ?? 10000f,
            RopeScaling = scaling,
            TieWordEmbeddings = tie,
            AttentionBias = arch == "Qwen2ForCausalLM" || cfg.OptBool("attention_bias") == true,
            BosTokenId = bos,
            EosTokenIds = eos,
        };
        config.Validate();
        return config;
    }

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
