using InferServe.Models;

namespace InferServe.Engine.Tests.Support;

/// <summary>
/// A plain, obviously-correct Llama forward pass in fp32 with full recompute and no cache,
/// straight from the checkpoint's weights. Only tests use it, to check the ORT + paged-attention path.
/// </summary>
public sealed class ReferenceForward
{
    private readonly ModelConfig _c;
    private readonly ICheckpoint _ckpt;
    private readonly Dictionary<string, float[]> _w = new();

    public ReferenceForward(ICheckpoint checkpoint)
    {
        _ckpt = checkpoint;
        _c = checkpoint.Config;
    }

    private float[] W(string name)
    {
        if (!_w.TryGetValue(name, out var data)) _w[name] = data = _ckpt.Read(name).Data;
        return data;
    }

    /// <summary>Logits [T, vocab] for every position of the sequence.</summary>
    public float[][] Logits(IReadOnlyList<int> tokens)
    {
        int T = tokens.Count, H = _c.HiddenSize, d = _c.HeadDim;
        var x = new float[T][];
        for (int t = 0; t < T; t++) x[t] = W(WeightNames.Embedding).AsSpan(tokens[t] * H, H).ToArray();

        for (int l = 0; l < _c.NumLayers; l++)
        {
            var q = new float[T][];
            var k = new float[T][];
            var v = new float[T][];
            for (int t = 0; t < T; t++)
            {
                var xn = RmsNorm(x[t], W(WeightNames.AttnNorm(l)));
                q[t] = MatVec(W(WeightNames.Q(l)), xn, _c.QDim, _c.AttentionBias ? W(WeightNames.QBias(l)) : null);
                k[t] = MatVec(W(WeightNames.K(l)), xn, _c.KvDim, _c.AttentionBias ? W(WeightNames.KBias(l)) : null);
                v[t] = MatVec(W(WeightNames.V(l)), xn, _c.KvDim, _c.AttentionBias ? W(WeightNames.VBias(l)) : null);
                Rope(q[t], _c.NumHeads, t);
                Rope(k[t], _c.NumKvHeads, t);
            }
            for (int t = 0; t < T; t++)
            {
                var attn = new float[_c.QDim];
                for (int h = 0; h < _c.NumHeads; h++)
                {
                    int kvh = h / _c.GroupSize;
                    var scores = new double[t + 1];
                    for (int j = 0; j <= t; j++)
                    {
                        double s = 0;
                        for (int i = 0; i < d; i++) s += q[t][h * d + i] * k[j][kvh * d + i];
                        scores[j] = s / Math.Sqrt(d);
                    }
                    double max = scores.Max(), sum = 0;
                    for (int j = 0; j <= t; j++) sum += scores[j] = Math.Exp(scores[j] - max);
                    for (int j = 0; j <= t; j++)
                        for (int i = 0; i < d; i++) attn[h * d + i] += (float)(scores[j] / sum * v[j][kvh * d + i]);
                }
                var o = MatVec(W(WeightNames.O(l)), attn, H, null);
                for (int i = 0; i < H; i++) x[t][i] += o[i];
                var xn = RmsNorm(x[t], W(WeightNames.FfnNorm(l)));
                var gate = MatVec(W(WeightNames.Gate(l)), xn, _c.IntermediateSize, null);
                var up = MatVec(W(WeightNames.Up(l)), xn, _c.IntermediateSize, null);
                for (int i = 0; i < gate.Length; i++) gate[i] = gate[i] / (1 + MathF.Exp(-gate[i])) * up[i];
                var down = MatVec(W(WeightNames.Down(l)), gate, H, null);
                for (int i = 0; i < H; i++) x[t][i] += down[i];
            }
        }
        var head = W(_c.TieWordEmbeddings ? WeightNames.Embedding : WeightNames.LmHead);
        return x.Select(row => MatVec(head, RmsNorm(row, W(WeightNames.FinalNorm)), _c.VocabSize, null)).ToArray();
    }

    private float[] RmsNorm(float[] x, float[] weight)
    {
        double ss = 0;
        foreach (var v in x) ss += v * v;
        float inv = (float)(1 / Math.Sqrt(ss / x.Length + _c.RmsNormEps));
        return x.Select((v, i) => v * inv * weight[i]).ToArray();
    }

    private static float[] MatVec(float[] w, float[] x, int rows, float[]? bias)
    {
        var y = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            double s = bias?[r] ?? 0;
            for (int c = 0; c < x.Length; c++) s += (double)w[r * x.Length + c] * x[c];
            y[r] = (float)s;
        }
        return y;
    }

    /// <summary>Hugging Face rotate_half RoPE: dimension i rotates with i + d/2.</summary>
    private void Rope(float[] vec, int heads, int pos)
    {
        int d = _c.HeadDim, half = d / 2;
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < half; i++)
            {
                double freq = 1.0 / Math.Pow(_c.RopeTheta, 2.0 * i / d);
                double angle = pos * freq, cos = Math.Cos(angle), sin = Math.Sin(angle);
                double a = vec[h * d + i], b = vec[h * d + i + half];
                vec[h * d + i] = (float)(a * cos - b * sin);
                vec[h * d + i + half] = (float)(b * cos + a * sin);
            }
        }
    }
}
