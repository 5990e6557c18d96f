using System.Diagnostics;
using InferServe.Backend;
using InferServe.Engine.Attention;
using InferServe.Models;
using InferServe.Onnx;

namespace InferServe.Engine.Runner;

/// <summary>
/// A step as per-part graphs: the embedding graph, then per layer the attention-input graph, paged attention in C#
/// and the attention-output graph (2·layers + 1 ORT runs; the runner's head graph makes it + 2).
/// </summary>
internal sealed class LayerGraphPath : IStepPath
{
    private readonly ModelConfig _config;
    private readonly OrtGraph _embed;
    private readonly OrtGraph[] _attnIn;
    private readonly OrtGraph[] _attnOut;
    private readonly NativeTensor[] _hidden;
    private readonly NativeTensor _qkv;
    private readonly NativeTensor _attn;
    private readonly OrtHostParallelFor? _hostParallel;

    public LayerGraphPath(OrtBackend backend, string graphDir, ModelConfig c, int maxTokens, NativeTensor ids, bool hostWorkOnOrtThreads, Action<string>? log)
    {
        _config = c;
        _hidden = [new NativeTensor(maxTokens, c.HiddenSize), new NativeTensor(maxTokens, c.HiddenSize)];
        _qkv = new NativeTensor(maxTokens, c.QDim + 2 * c.KvDim);
        _attn = new NativeTensor(maxTokens, c.QDim);

        OrtGraph Load(string name) => backend.Load(name, GraphCache.PathOf(graphDir, name));
        _embed = Load(LlamaGraphs.EmbedName).BindInput(LlamaGraphs.InputIds, ids, vector: true).BindOutput(LlamaGraphs.Hidden, _hidden[0]);
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

        if (hostWorkOnOrtThreads && backend.Device.Kind == "cpu")
        {
            var model = HostGraphs.SingleOp(OrtHostParallelFor.Domain, OrtHostParallelFor.OpType, OrtHostParallelFor.InputName, OrtHostParallelFor.OutputName);
            _hostParallel = OrtHostParallelFor.TryCreate(backend, model, out var whyNot);
            if (_hostParallel is null) log?.Invoke($"Attention runs on the .NET thread pool: {whyNot}");
        }
    }

    public NativeTensor FinalHidden => _hidden[_config.NumLayers % 2];
    public bool ComputesLogits => false;
    public IParallelFor? Parallel => _hostParallel;

    public (long Dense, long Attention) Run(int tokens, AttentionBatch batch, IAttentionBackend attention, ReadOnlySpan<int> logitRows)
    {
        long dense = 0, attn = 0;
        long e = Stopwatch.GetTimestamp();
        _embed.Run(tokens);
        dense += Stopwatch.GetTimestamp() - e;
        for (int l = 0; l < _config.NumLayers; l++)
        {
            long a = Stopwatch.GetTimestamp();
            _attnIn[l].Run(tokens);
            long b = Stopwatch.GetTimestamp();
            attention.Forward(l, batch, _qkv.Floats(tokens), _attn.Floats(tokens));
            long c = Stopwatch.GetTimestamp();
            _attnOut[l].Run(tokens);
            dense += (b - a) + (Stopwatch.GetTimestamp() - c);
            attn += c - b;
        }
        return (dense, attn);
    }

    public void Dispose()
    {
        _hostParallel?.Dispose();
        _embed.Dispose();
        foreach (var g in _attnIn) g.Dispose();
        foreach (var g in _attnOut) g.Dispose();
        foreach (var h in _hidden) h.Dispose();
        _qkv.Dispose();
        _attn.Dispose();
    }
}
