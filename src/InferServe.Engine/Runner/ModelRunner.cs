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
    /// <summary>
    /// Run a step as ONE ORT run of a whole-step graph, attention inside it as a host custom op (CPU only: elsewhere the
    /// per-layer graphs run, since the host op would copy activations between device and host for every layer).
    /// </summary>
    public bool StepGraph { get; init; }
}

/// <summary>
/// Executes one forward step over a flattened batch and returns the logits of only the rows that need them. On the CPU
/// with <see cref="RunnerOptions.StepGraph"/> the step is one ORT run of the whole-step graph (<see cref="StepGraphPath"/>);
/// otherwise embedding graph, per layer attention-input graph, paged attention in the engine, attention-output graph,
/// and the head graph (<see cref="LayerGraphPath"/>). All buffers are allocated once.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    private readonly OrtBackend _backend;
    private readonly IStepPath _path;
    private readonly NativeTensor _ids;
    private readonly NativeTensor _headIn;
    private readonly NativeTensor _logits;
    private OrtGraph? _head;

    public ModelConfig Config { get; }
    public RunnerOptions Options { get; }
    public string GraphDirectory { get; }

    /// <summary>Whether steps run as one whole-step graph (asked for, and on the CPU).</summary>
    public bool UsesStepGraph { get; }

    public ModelRunner(ICheckpoint checkpoint, RunnerOptions options, Action<string>? log = null)
    {
        Config = checkpoint.Config;
        Options = options;
        var c = Config;
        _backend = new OrtBackend(options.Backend);
        UsesStepGraph = options.StepGraph && _backend.Device.Kind == "cpu";
        if (options.StepGraph && !UsesStepGraph)
            log?.Invoke($"The step graph is CPU-only (its host attention would copy across the bus per layer): {_backend.Device} runs per-layer graphs.");
        GraphDirectory = GraphCache.Ensure(checkpoint, options.Graphs, options.CacheDir, log, UsesStepGraph ? StepGraphPath.Op : null);

        int T = options.MaxBatchTokens, R = options.MaxSeqs;
        _ids = new NativeTensor(T, 1, TensorElementType.Int64);
        _headIn = new NativeTensor(R, c.HiddenSize);
        _logits = new NativeTensor(R, c.VocabSize);
        if (UsesStepGraph)
        {
            // The head graph loads on the first HeadLogits (prompt logprobs): most servers never hold its weights twice.
            _path = new StepGraphPath(_backend, GraphDirectory, c, T, R, _ids, _logits, options.HostWorkOnOrtThreads);
        }
        else
        {
            _path = new LayerGraphPath(_backend, GraphDirectory, c, T, _ids, options.HostWorkOnOrtThreads, log);
            _head = LoadHead();
        }
    }

    private OrtGraph LoadHead() => _backend.Load(LlamaGraphs.HeadName, GraphCache.PathOf(GraphDirectory, LlamaGraphs.HeadName))
        .BindInput(LlamaGraphs.Hidden, _headIn).BindOutput(LlamaGraphs.Logits, _logits);

    /// <summary>Where host work of a step (attention) should fan out: ORT's intra-op pool when available.</summary>
    public IParallelFor HostParallel => _path.Parallel ?? ThreadPoolParallelFor.Instance;

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
        foreach (int row in logitRows)
            if ((uint)row >= (uint)T) throw new ArgumentOutOfRangeException(nameof(logitRows), $"Logit row {row} is outside the step's {T} tokens.");

        var ids = _ids.Rows<long>(T);
        for (int i = 0; i < T; i++)
        {
            if ((uint)tokens[i] >= (uint)Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"Token id {tokens[i]} is outside the vocabulary of {Config.VocabSize}.");
            ids[i] = tokens[i];
        }
        long t0 = Stopwatch.GetTimestamp();
        var (dense, attn) = _path.Run(T, batch, attention, logitRows);
        int R = logitRows.Length;
        long h = Stopwatch.GetTimestamp();
        if (R > 0 && !_path.ComputesLogits) RunHead(logitRows);
        // In step-graph mode the head is inside the one run: its time is part of dense, and head reads 0.
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
        RunHead(rows);
        return _logits.Floats(rows.Length);
    }

    private void RunHead(ReadOnlySpan<int> rows)
    {
        var final = _path.FinalHidden;
        for (int r = 0; r < rows.Length; r++) final.Row(rows[r]).CopyTo(_headIn.Row(r));
        (_head ??= LoadHead()).Run(rows.Length);
    }

    public void Dispose()
    {
        _path.Dispose();
        _head?.Dispose();
        _ids.Dispose();
        _headIn.Dispose();
        _logits.Dispose();
        _backend.Dispose();
    }
}
