using InferServe.Models;
using InferServe.Onnx.Proto;
using DT = InferServe.Onnx.Proto.TensorProto.Types.DataType;

namespace InferServe.Onnx;

/// <summary>The host custom op a step graph calls for attention: its domain and type, registered by the backend.</summary>
public sealed record HostAttentionOp(string Domain, string OpType);

/// <summary>
/// A whole decode/prefill step as one graph: embedding, then per layer the attention-input nodes, a host attention
/// node (the engine's paged attention, called back from inside ORT) and the attention-output nodes; then the rows
/// named by <see cref="LogitRows"/> go through the final norm and LM head. Built from the same node code as the
/// per-part graphs (<see cref="LlamaGraphs"/>), with each layer's names prefixed.
/// </summary>
public static class LlamaStepGraph
{
    public const string Name = "step";

    // Tensor names the runner binds, besides LlamaGraphs.InputIds and LlamaGraphs.Logits.
    /// <summary>int64[1]: the host attention instance's handle.</summary>
    public const string Instance = "instance";
    /// <summary>int64[R]: the token rows whose logits are wanted.</summary>
    public const string LogitRows = "logit_rows";
    /// <summary>float[T, H]: the final residual stream (before the final norm), for more logits later (prompt logprobs).</summary>
    public const string HiddenFinal = "hidden_final";

    /// <summary>The step graph's weights, beside it (ONNX external data).</summary>
    public const string DataFile = Name + ".onnx.data";

    /// <param name="weights">Where large initializers are written (the <see cref="DataFile"/> beside the model); null keeps them inline.</param>
    public static ModelProto Build(ICheckpoint ckpt, GraphOptions options, HostAttentionOp attention, Stream? weights = null)
    {
        var c = ckpt.Config;
        var g = new OnnxGraphBuilder(Name)
            .Input(LlamaGraphs.InputIds, DT.Int64, "T")
            .Input(Instance, DT.Int64, 1)
            .Input(LogitRows, DT.Int64, "R")
            .Output(LlamaGraphs.Logits, DT.Float, "R", c.VocabSize)
            .Output(HiddenFinal, DT.Float, "T", c.HiddenSize);
        if (weights is not null) g.WithExternalData(weights, DataFile);
        string hidden = "embedded";
        LlamaGraphs.EmbeddingNodes(g, ckpt, LlamaGraphs.InputIds, hidden);
        for (int l = 0; l < c.NumLayers; l++)
        {
            var s = new LlamaGraphs.Scope(g, $"layer{l:D3}.");
            LlamaGraphs.AttentionInputNodes(s, ckpt, l, options, hidden, s[LlamaGraphs.Qkv]);
            var layer = g.Int64Initializer(s["index"], l);
            g.Node(attention.OpType, [Instance, layer, s[LlamaGraphs.Qkv]], [s[LlamaGraphs.Attn]], attention.Domain);
            string next = l == c.NumLayers - 1 ? HiddenFinal : s[LlamaGraphs.HiddenOut];
            LlamaGraphs.AttentionOutputNodes(s, ckpt, l, options, hidden, s[LlamaGraphs.Attn], next);
            hidden = next;
        }
        var head = new LlamaGraphs.Scope(g, "head.");
        g.Node("Gather", [hidden, LogitRows], [head["rows"]], attributes: ("axis", 0L));
        LlamaGraphs.HeadNodes(head, ckpt, options, head["rows"], LlamaGraphs.Logits);
        return g.Build(extraDomains: attention.Domain);
    }
}
