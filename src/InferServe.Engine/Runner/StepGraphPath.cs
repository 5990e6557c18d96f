using System.Diagnostics;
using InferServe.Backend;
using InferServe.Engine.Attention;
using InferServe.Models;
using InferServe.Onnx;

namespace InferServe.Engine.Runner;

/// <summary>
/// A step as ONE ORT run of the whole-step graph (<see cref="LlamaStepGraph"/>): its host attention nodes call back
/// into <see cref="Forward"/>, which runs the step's <see cref="IAttentionBackend"/> on ORT's own threads. CPU only:
/// on an accelerator each host node would copy qkv and attn across the bus per layer.
/// </summary>
internal sealed class StepGraphPath : IStepPath, IHostAttention
{
    /// <summary>The op the step graph is built with; the graph cache keys the step set by it.</summary>
    public static HostAttentionOp Op { get; } = new(OrtHostAttention.Domain, OrtHostAttention.OpType);

    private readonly OrtHostAttention _host;
    private readonly OrtGraph _step;
    private readonly NativeTensor _rows;
    private readonly NativeTensor _final;
    private readonly bool _attentionOnOrtThreads;
    // The step being run: set just before the run, read by the host kernels.
    private AttentionBatch? _batch;
    private IAttentionBackend? _attention;
    private long _attentionTicks;

    public StepGraphPath(OrtBackend backend, string graphDir, ModelConfig c, int maxTokens, int maxSeqs, NativeTensor ids, NativeTensor logits, bool hostWorkOnOrtThreads)
    {
        _host = new OrtHostAttention(c.QDim);
        _rows = new NativeTensor(maxSeqs, 1, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64);
        _final = new NativeTensor(maxTokens, c.HiddenSize);
        _attentionOnOrtThreads = hostWorkOnOrtThreads;
        try
        {
            _step = backend.LoadWithHostOps(LlamaStepGraph.Name, GraphCache.PathOf(graphDir, LlamaStepGraph.Name))
                .BindInput(LlamaGraphs.InputIds, ids, vector: true)
                .BindInput(LlamaStepGraph.Instance, _host.Instance, vector: true, BoundRows.Whole)
                .BindInput(LlamaStepGraph.LogitRows, _rows, vector: true, BoundRows.Selected)
                .BindOutput(LlamaGraphs.Logits, logits, BoundRows.Selected)
                .BindOutput(LlamaStepGraph.HiddenFinal, _final);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NativeTensor FinalHidden => _final;
    public bool ComputesLogits => true;
    public IParallelFor? Parallel => _attentionOnOrtThreads ? _host : null;

    public (long Dense, long Attention) Run(int tokens, AttentionBatch batch, IAttentionBackend attention, ReadOnlySpan<int> logitRows)
    {
        // A step without wanted rows still gathers one (row 0, ignored): ORT tensors here are never empty.
        int selected = Math.Max(1, logitRows.Length);
        var rows = _rows.Rows<long>(selected);
        rows[0] = 0;
        for (int r = 0; r < logitRows.Length; r++) rows[r] = logitRows[r];

        long start = Stopwatch.GetTimestamp();
        (_batch, _attention, _attentionTicks) = (batch, attention, 0);
        _host.Begin(this);
        try
        {
            _step.Run(tokens, selected);
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            _host.End(); // a host kernel's failure is the cause worth reporting
            throw;
        }
        finally
        {
            (_batch, _attention) = (null, null);
        }
        _host.End();
        // Attention is timed inside its kernels; the rest of the run (embedding, dense layers, final norm and head: one
        // ORT run, not separable) is reported as dense.
        return (Stopwatch.GetTimestamp() - start - _attentionTicks, _attentionTicks);
    }

    /// <summary>Called by the step graph's host attention node of each layer, on the thread that runs the step.</summary>
    public void Forward(int layer, int rows, Span<float> qkv, Span<float> output)
    {
        var batch = _batch ?? throw new InvalidOperationException("Host attention ran outside a step.");
        if (rows != batch.NumTokens) throw new InvalidOperationException($"The step graph ran {rows} rows for a batch of {batch.NumTokens} tokens.");
        long start = Stopwatch.GetTimestamp();
        _attention!.Forward(layer, batch, qkv, output);
        _attentionTicks += Stopwatch.GetTimestamp() - start;
    }

    public void Dispose()
    {
        _step?.Dispose();
        _host.Dispose();
        _rows.Dispose();
        _final.Dispose();
    }
}
