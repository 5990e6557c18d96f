using System.Diagnostics;
using InferServe.Backend;
using InferServe.Engine.Attention;
using InferServe.Models;
using InferServe.Onnx;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferServe.Engine.Runner;

public sealed record RunnerOptions
{
    public GraphOptions Graphs { get; init; } = new();
    public BackendOptions Backend { get; init; } = new();
    /// <summary>Capacity of one step's flattened batch.</summary>
    public int MaxBatchTokens { get; init; } = 512;
    /// <summary>Capacity of sequences per step (and of logits rows).</summary>
    public int MaxSeqs { get; init; } = 64;
    public string? CacheDir { get; init; }
    /// <summary>Run attention's work items on ORT's intra-op threads (CPU device) instead of the .NET thread pool.</summary>
    public bool HostWorkOnOrtThreads { get; init; } = true;
}

/// <summary>
/// Executes one forward step over a flattened batch: embedding graph, then per layer the
/// attention-input graph, paged attention in the engine, the attention-output graph; finally the
/// head graph over only the rows that need logits. All buffers are allocated once.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    private readonly OrtBackend _backend;
    private readonly OrtGraph _embed;
    private readonly OrtGraph[] _attnIn;
    private readonly OrtGraph[] _attnOut;
    private readonly OrtGraph _head;
    private readonly NativeTensor _ids;
    private readonly NativeTensor[] _hidden;
    private readonly NativeTensor _qkv;
    private readonly NativeTensor _attn;
    private readonly NativeTensor _headIn;
    private readonly NativeTensor _logits;

    public ModelConfig Config { get; }
    public RunnerOptions Options { get; }
    public string GraphDirectory { get; }

    public ModelRunner(ICheckpoint checkpoint, RunnerOptions options, Action<string>? log = null)
    {
        Config = checkpoint.Config;
        Options = options;
        var c = Config;
        _backend = new OrtBackend(options.Backend);
        GraphDirectory = GraphCache.Ensure(checkpoint, options.Graphs, options.CacheDir, log);

        int T = options.MaxBatchTokens, R = options.MaxSeqs;
        _ids = new NativeTensor(T, 1, TensorElementType.Int64);
        _hidden = [new NativeTensor(T, c.HiddenSize), new NativeTensor(T, c.HiddenSize)];
        _qkv = new NativeTensor(T, c.QDim + 2 * c.KvDim);
        _attn = new NativeTensor(T, c.QDim);
        _headIn = new NativeTensor(R, c.HiddenSize);
        _logits = new NativeTensor(R, c.VocabSize);

        OrtGraph Load(string name) => _backend.Load(name, GraphCache.PathOf(GraphDirectory, name));
        _embed = Load(LlamaGraphs.EmbedName).BindInput(LlamaGraphs.InputIds, _ids, vector: true).BindOutput(LlamaGraphs.Hidden, _hidden[0]);
        _attnIn = new OrtGraph[c.NumLayers];
        _attnOut = new OrtGraph[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            // Residual stream ping-pongs between two buffers, so every binding is fixed at load time.
            var input = _hidden[l % 2];
            var output = _hidden[(l + 1) % 2];
            _attnIn[l] = Load(LlamaGraphs.AttnInName(l)).BindInput(LlamaGraphs.Hidden, input).BindOutput(LlamaGraphs.Qkv, _qkv);
            _attnOut[l] = Load(LlamaGraphs.AttnOutName(l)).BindInput(LlamaGraphs.Hidden, input).BindInput(LlamaGraphs.Attn, _attn).BindOutput(LlamaGraphs.HiddenOut, output);
        }
        _head = Load(LlamaGraphs.HeadName).BindInput(LlamaGraphs.Hidden, _headIn).BindOutput(LlamaGraphs.Logits, _logits);

        if (options.HostWorkOnOrtThreads && _backend.Device.Kind == "cpu")
        {
            var model = HostGraphs.SingleOp(OrtHostParallelFor.Domain, OrtHostParallelFor.OpType, OrtHostParallelFor.InputName, OrtHostParallelFor.OutputName);
            _hostParallel = OrtHostParallelFor.TryCreate(_backend, model, out var whyNot);
            if (_hostParallel is null) log?.Invoke($"Attention runs on the .NET thread pool: {whyNot}");
        }
    }

    private readonly OrtHostParallelFor? _hostParallel;

    /// <summary>Where host work between graphs (attention) should fan out: ORT's intra-op pool when available.</summary>
    public IParallelFor HostParallel => (IParallelFor?)_hostParallel ?? ThreadPoolParallelFor.Instance;

    public string Device => _backend.Device.ToString();

    /// <summary>Where step time goes, accumulated since start (Stopwatch ticks); read by `inferserve bench --profile`.</summary>
    public RunnerTimings Timings { get; } = new();

    /// <summary>
    /// Runs one step. <paramref name="tokens"/> are the flattened batch (described by <paramref name="batch"/>);
    /// <paramref name="logitRows"/> lists the token rows whose next-token logits are wanted.
    /// Returns logits as [logitRows.Length, VocabSize], valid until the next step.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, AttentionBatch batch, IAttentionBackend attention, ReadOnlySpan<int> logitRows)
    {
        int T = tokens.Length;
        if (T == 0 || T > Options.MaxBatchTokens) throw new ArgumentOutOfRangeException(nameof(tokens), $"A step holds 1..{Options.MaxBatchTokens} tokens, got {T}.");
        if (logitRows.Length > Options.MaxSeqs) throw new ArgumentOutOfRangeException(nameof(logitRows));
        if (batch.NumTokens != T) throw new ArgumentException("Attention batch and token count disagree.");

        var ids = _ids.Rows<long>(T);
        for (int i = 0; i < T; i++)
        {
            if ((uint)tokens[i] >= (uint)Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"Token id {tokens[i]} is outside the vocabulary of {Config.VocabSize}.");
            ids[i] = tokens[i];
        }
        long t0 = Stopwatch.GetTimestamp(), dense = 0, attn = 0;
        _embed.Run(T);
        for (int l = 0; l < Config.NumLayers; l++)
        {
            long a = Stopwatch.GetTimestamp();
            _attnIn[l].Run(T);
            long b = Stopwatch.GetTimestamp();
            attention.Forward(l, batch, _qkv.Floats(T), _attn.Floats(T));
            long c = Stopwatch.GetTimestamp();
            _attnOut[l].Run(T);
            dense += (b - a) + (Stopwatch.GetTimestamp() - c);
            attn += c - b;
        }
        var final = _hidden[Config.NumLayers % 2];
        int R = logitRows.Length;
        long h = Stopwatch.GetTimestamp();
        if (R > 0)
        {
            for (int r = 0; r < R; r++) final.Row(logitRows[r]).CopyTo(_headIn.Row(r));
            _head.Run(R);
        }
        Timings.Add(T, batch.NumSeqs == T, dense, attn, Stopwatch.GetTimestamp() - h, Stopwatch.GetTimestamp() - t0);
        return R == 0 ? [] : _logits.Floats(R);
    }

    /// <summary>
    /// Logits for more rows of the last <see cref="Forward"/> step (at most MaxSeqs at a time), e.g. prompt logprobs.
    /// Overwrites the logits Forward returned.
    /// </summary>
    public ReadOnlySpan<float> HeadLogits(ReadOnlySpan<int> rows)
    {
        if (rows.Length == 0) return [];
        if (rows.Length > Options.MaxSeqs) throw new ArgumentOutOfRangeException(nameof(rows));
        var final = _hidden[Config.NumLayers % 2];
        for (int r = 0; r < rows.Length; r++) final.Row(rows[r]).CopyTo(_headIn.Row(r));
        _head.Run(rows.Length);
        return _logits.Floats(rows.Length);
    }

    public void Dispose()
    {
        _hostParallel?.Dispose();
        _embed.Dispose();
        foreach (var g in _attnIn) g.Dispose();
        foreach (var g in _attnOut) g.Dispose();
        _head.Dispose();
        _ids.Dispose();
        foreach (var h in _hidden) h.Dispose();
        _qkv.Dispose();
        _attn.Dispose();
        _headIn.Dispose();
        _logits.Dispose();
        _backend.Dispose();
    }
}
