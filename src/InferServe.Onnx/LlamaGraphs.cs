using InferServe.Models;
using InferServe.Onnx.Proto;
using DT = InferServe.Onnx.Proto.TensorProto.Types.DataType;

namespace InferServe.Onnx;

/// <summary>
/// Builds the dense parts of a Llama-family model as ONNX graphs over a flattened batch of T tokens:
/// an embedding graph, per layer an attention-input graph (RMSNorm + fused QKV projection) and an
/// attention-output graph (O projection + residual + RMSNorm + SwiGLU MLP + residual), and a head
/// graph. RoPE and attention run in the engine between the two layer graphs, over the paged KV cache.
/// </summary>
public static class LlamaGraphs
{
    /// <summary>Bumped whenever graph structure changes, so stale on-disk caches are rebuilt.</summary>
    public const int BuilderVersion = 4;

    public static string EmbedName => "embed";
    public static string AttnInName(int layer) => $"layer{layer:D3}.attn_in";
    public static string AttnOutName(int layer) => $"layer{layer:D3}.attn_out";
    public static string HeadName => "head";

    // Tensor names the runner binds.
    public const string InputIds = "input_ids";
    public const string Hidden = "hidden";
    public const string HiddenOut = "hidden_out";
    public const string Qkv = "qkv";
    public const string Attn = "attn";
    public const string Logits = "logits";

    public static IEnumerable<string> AllNames(ModelConfig c) =>
        new[] { EmbedName }.Concat(Enumerable.Range(0, c.NumLayers).SelectMany(l => new[] { AttnInName(l), AttnOutName(l) })).Append(HeadName);

    public static ModelProto BuildEmbedding(ICheckpoint ckpt)
    {
        var c = ckpt.Config;
        var g = new OnnxGraphBuilder(EmbedName)
            .Input(InputIds, DT.Int64, "T")
            .Output(Hidden, DT.Float, "T", c.HiddenSize);
        EmbeddingNodes(g, ckpt, InputIds, Hidden);
        return g.Build();
    }

    public static ModelProto BuildAttentionInput(ICheckpoint ckpt, int layer, GraphOptions options)
    {
        var c = ckpt.Config;
        var g = new OnnxGraphBuilder(AttnInName(layer))
            .Input(Hidden, DT.Float, "T", c.HiddenSize)
            .Output(Qkv, DT.Float, "T", c.QDim + 2 * c.KvDim);
        AttentionInputNodes(new Scope(g, ""), ckpt, layer, options, Hidden, Qkv);
        return g.Build();
    }

    public static ModelProto BuildAttentionOutput(ICheckpoint ckpt, int layer, GraphOptions options)
    {
        var c = ckpt.Config;
        var g = new OnnxGraphBuilder(AttnOutName(layer))
            .Input(Hidden, DT.Float, "T", c.HiddenSize)
            .Input(Attn, DT.Float, "T", c.QDim)
            .Output(HiddenOut, DT.Float, "T", c.HiddenSize);
        AttentionOutputNodes(new Scope(g, ""), ckpt, layer, options, Hidden, Attn, HiddenOut);
        return g.Build();
    }

    public static ModelProto BuildHead(ICheckpoint ckpt, GraphOptions options)
    {
        var c = ckpt.Config;
        var g = new OnnxGraphBuilder(HeadName)
            .Input(Hidden, DT.Float, "R", c.HiddenSize)
            .Output(Logits, DT.Float, "R", c.VocabSize);
        HeadNodes(new Scope(g, ""), ckpt, options, Hidden, Logits);
        return g.Build();
    }

    /// <summary>
    /// Names inside one part of a graph: the per-part graphs use bare names, the step graph prefixes each layer's
    /// initializers and values ("layer003.w_qkv") so the same node code builds both.
    /// </summary>
    internal readonly record struct Scope(OnnxGraphBuilder G, string Prefix)
    {
        public string this[string local] => Prefix + local;
    }

    internal static void EmbeddingNodes(OnnxGraphBuilder g, ICheckpoint ckpt, string ids, string hidden)
    {
        var c = ckpt.Config;
        var table = ckpt.ReadExpect(WeightNames.Embedding, c.VocabSize, c.HiddenSize);
        g.Initializer("embed_tokens", table.Data, c.VocabSize, c.HiddenSize);
        g.Node("Gather", ["embed_tokens", ids], [hidden], attributes: ("axis", 0L));
    }

    /// <summary>RMSNorm + fused QKV projection: <paramref name="hidden"/> [T, H] → <paramref name="qkv"/> [T, QDim + 2·KvDim].</summary>
    internal static void AttentionInputNodes(Scope s, ICheckpoint ckpt, int layer, GraphOptions options, string hidden, string qkv)
    {
        var c = ckpt.Config;
        int qkvDim = c.QDim + 2 * c.KvDim;
        var norm = s.G.Initializer(s["attn_norm"], ckpt.ReadExpect(WeightNames.AttnNorm(layer), c.HiddenSize).Data, c.HiddenSize);
        var x = s.G.Node("SimplifiedLayerNormalization", [hidden, norm], [s["attn_x"]], attributes: [("axis", -1L), ("epsilon", c.RmsNormEps), ("stash_type", 1L)]);

        var wq = ckpt.ReadExpect(WeightNames.Q(layer), c.QDim, c.HiddenSize);
        var wk = ckpt.ReadExpect(WeightNames.K(layer), c.KvDim, c.HiddenSize);
        var wv = ckpt.ReadExpect(WeightNames.V(layer), c.KvDim, c.HiddenSize);
        var fused = Concat(wq.Data, wk.Data, wv.Data);
        float[]? bias = null;
        if (c.AttentionBias)
        {
            bias = Concat(ckpt.ReadExpect(WeightNames.QBias(layer), c.QDim).Data,
                ckpt.ReadExpect(WeightNames.KBias(layer), c.KvDim).Data,
                ckpt.ReadExpect(WeightNames.VBias(layer), c.KvDim).Data);
        }
        Linear(s, x, "w_qkv", fused, qkvDim, c.HiddenSize, bias, qkv, options);
    }

    /// <summary>O projection + residual + RMSNorm + SwiGLU MLP + residual: (<paramref name="hidden"/>, <paramref name="attn"/>) → <paramref name="hiddenOut"/>.</summary>
    internal static void AttentionOutputNodes(Scope s, ICheckpoint ckpt, int layer, GraphOptions options, string hidden, string attn, string hiddenOut)
    {
        var c = ckpt.Config;
        var g = s.G;
        var o = Linear(s, attn, "w_o", ckpt.ReadExpect(WeightNames.O(layer), c.HiddenSize, c.QDim).Data, c.HiddenSize, c.QDim, null, s["o"], options);
        var norm = g.Initializer(s["ffn_norm"], ckpt.ReadExpect(WeightNames.FfnNorm(layer), c.HiddenSize).Data, c.HiddenSize);
        // SkipSimplifiedLayerNormalization returns both the normalized sum and the raw residual sum.
        g.Node("SkipSimplifiedLayerNormalization", [o, hidden, norm], [s["x"], "", "", s["h1"]], OnnxGraphBuilder.MicrosoftDomain, ("epsilon", c.RmsNormEps));

        var gate = ckpt.ReadExpect(WeightNames.Gate(layer), c.IntermediateSize, c.HiddenSize);
        var up = ckpt.ReadExpect(WeightNames.Up(layer), c.IntermediateSize, c.HiddenSize);
        var gu = Linear(s, s["x"], "w_gate_up", Concat(gate.Data, up.Data), 2 * c.IntermediateSize, c.HiddenSize, null, s["gate_up"], options);
        g.Node("Split", [gu], [s["gate"], s["up"]], attributes: [("axis", -1L), ("num_outputs", 2L)]);
        g.Node("Sigmoid", [s["gate"]], [s["gate_sigmoid"]]);
        g.Node("Mul", [s["gate"], s["gate_sigmoid"]], [s["gate_silu"]]);
        g.Node("Mul", [s["gate_silu"], s["up"]], [s["act"]]);
        var down = ckpt.ReadExpect(WeightNames.Down(layer), c.HiddenSize, c.IntermediateSize);
        var d = Linear(s, s["act"], "w_down", down.Data, c.HiddenSize, c.IntermediateSize, null, s["down"], options);
        g.Node("Add", [s["h1"], d], [hiddenOut]);
    }

    /// <summary>Final RMSNorm + LM head: <paramref name="hidden"/> [R, H] → <paramref name="logits"/> [R, V].</summary>
    internal static void HeadNodes(Scope s, ICheckpoint ckpt, GraphOptions options, string hidden, string logits)
    {
        var c = ckpt.Config;
        var norm = s.G.Initializer(s["final_norm"], ckpt.ReadExpect(WeightNames.FinalNorm, c.HiddenSize).Data, c.HiddenSize);
        s.G.Node("SimplifiedLayerNormalization", [hidden, norm], [s["x"]], attributes: [("axis", -1L), ("epsilon", c.RmsNormEps), ("stash_type", 1L)]);
        var head = ckpt.ReadExpect(c.TieWordEmbeddings ? WeightNames.Embedding : WeightNames.LmHead, c.VocabSize, c.HiddenSize);
        Linear(s, s["x"], "w_head", head.Data, c.VocabSize, c.HiddenSize, null, logits, options);
    }

    /// <summary>y = x·Wᵀ (+ b) for W [n, k], as MatMul over a transposed fp32 initializer or as MatMulNBits.</summary>
    private static string Linear(Scope s, string input, string weight, float[] w, int n, int k, float[]? bias, string output, GraphOptions options)
    {
        var g = s.G;
        string weightName = s[weight];
        string matmulOut = bias is null ? output : output + "_nobias";
        if (options.Precision == WeightPrecision.Fp32)
        {
            g.Initializer(weightName, Transpose(w, n, k), k, n);
            g.Node("MatMul", [input, weightName], [matmulOut]);
        }
        else
        {
            int bits = options.Precision == WeightPrecision.Int4 ? 4 : 8;
            var q = BlockQuantizer.Quantize(w, n, k, bits, options.BlockSize);
            int blobSize = options.BlockSize * bits / 8;
            g.Initializer(weightName, DT.Uint8, q.Packed, n, q.BlocksPerRow, blobSize);
            g.Initializer(weightName + "_scales", q.Scales, (long)n * q.BlocksPerRow);
            g.Initializer(weightName + "_zp", DT.Uint8, q.ZeroPoints, q.ZeroPoints.Length);
            g.Node("MatMulNBits", [input, weightName, weightName + "_scales", weightName + "_zp"], [matmulOut], OnnxGraphBuilder.MicrosoftDomain,
                ("K", (long)k), ("N", (long)n), ("bits", (long)bits), ("block_size", (long)options.BlockSize), ("accuracy_level", (long)options.AccuracyLevel));
        }
        if (bias is not null)
        {
            g.Initializer(weightName + "_bias", bias, n);
            g.Node("Add", [matmulOut, weightName + "_bias"], [output]);
        }
        return output;
    }

    private static float[] Transpose(float[] w, int rows, int cols)
    {
        var t = new float[w.Length];
        Parallel.For(0, rows, r =>
        {
            for (int c = 0; c < cols; c++) t[(long)c * rows + r] = w[(long)r * cols + c];
        });
        return t;
    }

    private static float[] Concat(params float[][] parts)
    {
        var result = new float[parts.Sum(p => (long)p.Length)];
        long offset = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, offset);
            offset += p.Length;
        }
        return result;
    }
}
