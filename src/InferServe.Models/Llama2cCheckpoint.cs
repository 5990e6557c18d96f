using System.Runtime.InteropServices;

namespace InferServe.Models;

/// <summary>
/// A legacy (version 0) llama2.c checkpoint: a 7-int32 header followed by fp32 weights.
/// q/k rows are permuted at read time from llama2.c's interleaved RoPE pairs to the
/// Hugging Face half-split layout, so the whole engine has a single RoPE convention.
/// </summary>
public sealed class Llama2cCheckpoint : ICheckpoint
{
    private const int HeaderInts = 7;
    private readonly float[] _data;
    private readonly Dictionary<string, (long Offset, int[] Shape)> _index = new();

    public ModelConfig Config { get; }
    public string? TokenizerPath { get; }
    public string? ModelDirectory => null;
    public string Fingerprint { get; }
    public bool StopsAtBos => true;

    public Llama2cCheckpoint(string path, string? tokenizerPath = null)
    {
        if (!File.Exists(path)) throw new ModelLoadException($"llama2.c checkpoint '{path}' does not exist.");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < HeaderInts * 4) throw new ModelLoadException($"'{path}' is too small to be a llama2.c checkpoint.");
        var header = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, HeaderInts * 4));
        int dim = header[0], hidden = header[1], layers = header[2], heads = header[3], kvHeads = header[4], vocab = header[5], seqLen = header[6];
        bool shared = vocab > 0;
        vocab = vocab == int.MinValue ? 0 : Math.Abs(vocab);
        if (vocab == 0 || dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || seqLen <= 0 || dim % heads != 0)
            throw new ModelLoadException($"'{path}' does not have a valid llama2.c header (dim={dim}, hidden={hidden}, layers={layers}, heads={heads}, kv_heads={kvHeads}, vocab={vocab}, seq_len={seqLen}).");
        int headDim = dim / heads, kvDim = kvHeads * headDim;

        Config = new ModelConfig
        {
            Architecture = "llama2.c",
            HiddenSize = dim,
            IntermediateSize = hidden,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = vocab,
            MaxPositionEmbeddings = seqLen,
            RmsNormEps = 1e-5f,
            RopeTheta = 10000f,
            TieWordEmbeddings = shared,
            BosTokenId = 1,
            EosTokenIds = [2],
        };
        Config.Validate();

        long floats = (bytes.Length - HeaderInts * 4) / 4;
        _data = new float[floats];
        Buffer.BlockCopy(bytes, HeaderInts * 4, _data, 0, (int)(floats * 4));

        // Header values are untrusted: the layout stops as soon as it passes the end of the file (a huge layer count
        // must not index billions of tensors first), and sizes are summed in checked arithmetic.
        long offset = 0;
        void Advance(long count)
        {
            offset = count > floats - offset ? long.MaxValue : offset + count;
            if (offset > floats)
                throw new ModelLoadException($"'{path}' is truncated: its header (dim={dim}, hidden={hidden}, layers={layers}, vocab={vocab}, seq_len={seqLen}) needs more floats than the file's {floats}.");
        }
        void Add(string name, params int[] shape)
        {
            _index[name] = (offset, shape);
            Advance(shape.Aggregate(1L, (a, b) => a * b)); // at most two int dims: no overflow
        }
        void AddLayers(Func<int, string> name, params int[] shape)
        {
            for (int l = 0; l < layers; l++) Add(name(l), shape);
        }
        Add(WeightNames.Embedding, vocab, dim);
        AddLayers(WeightNames.AttnNorm, dim);
        AddLayers(WeightNames.Q, dim, dim);
        AddLayers(WeightNames.K, kvDim, dim);
        AddLayers(WeightNames.V, kvDim, dim);
        AddLayers(WeightNames.O, dim, dim);
        AddLayers(WeightNames.FfnNorm, dim);
        AddLayers(WeightNames.Gate, hidden, dim);
        AddLayers(WeightNames.Down, dim, hidden);
        AddLayers(WeightNames.Up, hidden, dim);
        Add(WeightNames.FinalNorm, dim);
        Advance((long)seqLen * headDim); // legacy freq_cis_real/imag: recomputed by the engine
        if (!shared) Add(WeightNames.LmHead, vocab, dim);

        Fingerprint = ContentHash.OfFiles([path]);
        TokenizerPath = tokenizerPath ?? FindTokenizerBeside(path, vocab);
    }

    private static string? FindTokenizerBeside(string path, int vocab)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var candidate in new[] { "tokenizer.bin", $"tok{vocab}.bin" })
        {
            var p = Path.Combine(dir, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    public bool Contains(string name) => _index.ContainsKey(name);

    public WeightTensor Read(string name)
    {
        if (!_index.TryGetValue(name, out var entry))
            throw new ModelLoadException($"llama2.c checkpoint has no tensor '{name}'.");
        long count = entry.Shape.Aggregate(1L, (a, b) => a * b);
        var data = _data.AsSpan((int)entry.Offset, (int)count).ToArray();
        bool isQ = name.EndsWith("q_proj.weight", StringComparison.Ordinal);
        bool isK = name.EndsWith("k_proj.weight", StringComparison.Ordinal);
        if (isQ || isK)
            data = PermuteToHalfSplit(data, isQ ? Config.NumHeads : Config.NumKvHeads, Config.HeadDim, entry.Shape[1]);
        return new WeightTensor(name, entry.Shape, data);
    }

    /// <summary>Row order within each head: (0,1),(2,3).. pairs become (0,d/2),(1,d/2+1)..</summary>
    internal static float[] PermuteToHalfSplit(float[] w, int heads, int headDim, int cols)
    {
        var result = new float[w.Length];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < half; i++)
            {
                w.AsSpan((h * headDim + 2 * i) * cols, cols).CopyTo(result.AsSpan((h * headDim + i) * cols, cols));
                w.AsSpan((h * headDim + 2 * i + 1) * cols, cols).CopyTo(result.AsSpan((h * headDim + half + i) * cols, cols));
            }
        }

        return result;
    }

    public void Dispose() { }
}
