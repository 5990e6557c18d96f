namespace InferServe.Models.Gguf;

/// <summary>
/// A llama-architecture GGUF file (llama.cpp's format). Metadata maps to <see cref="ModelConfig"/>, tensor
/// names to <see cref="WeightNames"/>, and every tensor is dequantized to fp32 on read (the graph builder
/// re-quantizes to the requested precision). llama.cpp's converter permutes q/k rows into interleaved RoPE
/// pairs; they are permuted back to the Hugging Face half-split layout here, like llama2.c checkpoints.
/// </summary>
public sealed class GgufCheckpoint : ICheckpoint
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["llama"];

    private readonly GgufFile _file;
    private readonly Dictionary<string, GgufTensorInfo> _byCanonical = new(StringComparer.Ordinal);

    public ModelConfig Config { get; }
    public string? TokenizerPath { get; }
    public string? ModelDirectory => null;
    public string Fingerprint { get; }
    public bool StopsAtBos => false;

    public GgufCheckpoint(string path)
    {
        if (!File.Exists(path)) throw new ModelLoadException($"GGUF file '{path}' does not exist.");
        _file = new GgufFile(path);
        try
        {
            foreach (var t in _file.Tensors.Values)
            {
                if (CanonicalName(t.Name) is { } canonical) _byCanonical[canonical] = t;
            }
            try
            {
                Config = ParseConfig(_file, _byCanonical);
            }
            catch (OverflowException)
            {
                throw new ModelLoadException($"'{path}': a model dimension in its metadata or tensor shapes does not fit in 32 bits.");
            }
            foreach (var (name, t) in _byCanonical)
            {
                if (GgmlDequantizer.Layout(t.Type) is null)
                    throw new ModelLoadException($"Tensor '{t.Name}' in '{path}' has type {(Enum.IsDefined(t.Type) ? t.Type.ToString() : "#" + (uint)t.Type)}, which is not supported; supported are {GgmlDequantizer.SupportedTypes}.");
            }
        }
        catch
        {
            _file.Dispose();
            throw;
        }
        TokenizerPath = _file.Metadata.Has("tokenizer.ggml.tokens") ? Path.GetFullPath(path) : null;
        Fingerprint = ContentHash.OfFiles([path]);
    }

    /// <summary>llama.cpp tensor names to Hugging Face names; null for tensors the engine does not use.</summary>
    internal static string? CanonicalName(string gguf)
    {
        switch (gguf)
        {
            case "token_embd.weight": return WeightNames.Embedding;
            case "output_norm.weight": return WeightNames.FinalNorm;
            case "output.weight": return WeightNames.LmHead;
        }
        if (!gguf.StartsWith("blk.", StringComparison.Ordinal)) return null;
        int dot = gguf.IndexOf('.', 4);
        if (dot < 0 || !int.TryParse(gguf.AsSpan(4, dot - 4), out int layer)) return null;
        return gguf[(dot + 1)..] switch
        {
            "attn_norm.weight" => WeightNames.AttnNorm(layer),
            "ffn_norm.weight" => WeightNames.FfnNorm(layer),
            "attn_q.weight" => WeightNames.Q(layer),
            "attn_k.weight" => WeightNames.K(layer),
            "attn_v.weight" => WeightNames.V(layer),
            "attn_output.weight" => WeightNames.O(layer),
            "attn_q.bias" => WeightNames.QBias(layer),
            "attn_k.bias" => WeightNames.KBias(layer),
            "attn_v.bias" => WeightNames.VBias(layer),
            "ffn_gate.weight" => WeightNames.Gate(layer),
            "ffn_up.weight" => WeightNames.Up(layer),
            "ffn_down.weight" => WeightNames.Down(layer),
            _ => null,
        };
    }

    private static ModelConfig ParseConfig(GgufFile file, Dictionary<string, GgufTensorInfo> tensors)
    {
        var m = file.Metadata;
        string arch = m.GetString("general.architecture") ?? throw new ModelLoadException($"'{file.Path}' has no general.architecture.");
        if (!SupportedArchitectures.Contains(arch))
            throw new ModelLoadException($"GGUF architecture '{arch}' in '{file.Path}' is not supported; supported are {string.Join(", ", SupportedArchitectures)}.");

        int Int(string key) => checked((int)(m.GetInteger($"{arch}.{key}") ?? throw new ModelLoadException($"'{file.Path}' is missing '{arch}.{key}'.")));
        int? OptInt(string key) => m.GetInteger($"{arch}.{key}") is long v ? checked((int)v) : null;
        float? OptFloat(string key) => m.GetFloat($"{arch}.{key}") is double v ? (float)v : null;

        int hidden = Int("embedding_length"), heads = Int("attention.head_count");
        int headDim = OptInt("attention.key_length") ?? (heads > 0 ? hidden / heads : 0);
        if (OptInt("rope.dimension_count") is int ropeDims && ropeDims != headDim)
            throw new ModelLoadException($"'{file.Path}': partial rotary embeddings ({arch}.rope.dimension_count {ropeDims} < head dim {headDim}) are not supported.");

        if (!tensors.TryGetValue(WeightNames.Embedding, out var embedding))
            throw new ModelLoadException($"'{file.Path}' has no token_embd.weight tensor.");
        int vocab = embedding.Shape[0];

        RopeScaling? scaling = null;
        string? scalingType = m.GetString($"{arch}.rope.scaling.type");
        float factor = OptFloat("rope.scaling.factor") ?? 1f;
        if (scalingType is "linear" && factor != 1f) scaling = new RopeScaling("linear", factor);
        else if (scalingType is not (null or "none" or "linear"))
            throw new ModelLoadException($"'{file.Path}': rope scaling type '{scalingType}' is not supported (supported: linear, and llama3 via rope_freqs).");
        if (file.Tensors.TryGetValue("rope_freqs.weight", out var freqs))
            scaling = Llama3ScalingFromFreqFactors(file, freqs, m.GetFloat($"{arch}.rope.freq_base") is double b ? (float)b : 10000f, headDim);

        var eos = new List<int>();
        foreach (var key in new[] { "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id" })
        {
            if (m.GetInteger(key) is long id && !eos.Contains((int)id)) eos.Add((int)id);
        }

        var config = new ModelConfig
        {
            Architecture = "gguf:" + arch,
            HiddenSize = hidden,
            IntermediateSize = Int("feed_forward_length"),
            NumLayers = Int("block_count"),
            NumHeads = heads,
            NumKvHeads = OptInt("attention.head_count_kv") ?? heads,
            HeadDim = headDim,
            VocabSize = vocab,
            MaxPositionEmbeddings = OptInt("context_length") ?? 2048,
            RmsNormEps = OptFloat("attention.layer_norm_rms_epsilon") ?? 1e-5f,
            RopeTheta = OptFloat("rope.freq_base") ?? 10000f,
            RopeScaling = scaling,
            TieWordEmbeddings = !tensors.ContainsKey(WeightNames.LmHead),
            AttentionBias = tensors.ContainsKey(WeightNames.QBias(0)),
            BosTokenId = m.GetInteger("tokenizer.ggml.bos_token_id") is long bos ? (int)bos : null,
            EosTokenIds = eos,
        };
        config.Validate();
        return config;
    }

    /// <summary>
    /// llama.cpp stores Llama 3.x RoPE scaling as a rope_freqs tensor of per-frequency divisors instead of
    /// its parameters. Accept it when it equals the llama3 formula with the published parameters.
    /// </summary>
    private static RopeScaling Llama3ScalingFromFreqFactors(GgufFile file, GgufTensorInfo tensor, float theta, int headDim)
    {
        float[] actual = file.ReadFloats(tensor);
        if (actual.Length == 0) throw new ModelLoadException($"'{file.Path}': its rope_freqs tensor is empty.");
        float factor = actual.Max();
        foreach (var candidate in new[] { new RopeScaling("llama3", factor, 1f, 4f, 8192), new RopeScaling("llama3", factor, 1f, 4f, 4096) })
        {
            var expected = Llama3FreqFactors(candidate, theta, headDim);
            if (expected.Length == actual.Length && expected.Zip(actual).All(p => Math.Abs(p.First - p.Second) <= 1e-3f * Math.Max(1f, Math.Abs(p.First))))
                return candidate;
        }
        throw new ModelLoadException($"'{file.Path}': its rope_freqs tensor does not match Llama 3 RoPE scaling (factor {factor}, low/high 1/4, original context 8192 or 4096); other frequency scalings are not supported.");
    }

    /// <summary>The divisor of each RoPE frequency under llama3 scaling (as convert_hf_to_gguf computes rope_freqs).</summary>
    internal static float[] Llama3FreqFactors(RopeScaling s, float theta, int headDim)
    {
        double lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        var result = new float[headDim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double freq = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen)
            {
                result[i] = 1f;
            }
            else if (wavelen > lowWavelen)
            {
                result[i] = s.Factor;
            }
            else
            {
                double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                result[i] = (float)(1 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return result;
    }

    public bool Contains(string name) => _byCanonical.ContainsKey(name);

    public WeightTensor Read(string name)
    {
        if (!_byCanonical.TryGetValue(name, out var t))
            throw new ModelLoadException($"GGUF file '{_file.Path}' has no tensor for '{name}'.");
        int[] shape;
        try
        {
            shape = t.Shape;
        }
        catch (OverflowException)
        {
            throw new ModelLoadException($"Tensor '{t.Name}' in '{_file.Path}' has a dimension beyond 32 bits: [{string.Join(",", t.Dims)}].");
        }
        bool isQ = name.EndsWith("q_proj.weight", StringComparison.Ordinal) || name.EndsWith("q_proj.bias", StringComparison.Ordinal);
        bool isK = name.EndsWith("k_proj.weight", StringComparison.Ordinal) || name.EndsWith("k_proj.bias", StringComparison.Ordinal);
        // The q/k rows are permuted per head, so their row count must be the config's before anything is moved.
        int rows = (isQ ? Config.NumHeads : Config.NumKvHeads) * Config.HeadDim;
        if ((isQ || isK) && shape[0] != rows)
            throw new ModelLoadException($"Tensor '{t.Name}' in '{_file.Path}' has {shape[0]} rows; the model's heads need {rows}.");
        var data = _file.ReadFloats(t);
        if (isQ || isK)
            data = Llama2cCheckpoint.PermuteToHalfSplit(data, isQ ? Config.NumHeads : Config.NumKvHeads, Config.HeadDim, shape.Length > 1 ? shape[1] : 1);
        return new WeightTensor(name, shape, data);
    }

    public void Dispose() => _file.Dispose();
}
