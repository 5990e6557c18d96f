using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using InferServe.Models;

namespace InferServe.Engine.Attention;

/// <summary>
/// RoPE in the Hugging Face half-split convention: dimension i pairs with i + headDim/2.
/// Tables of cos/sin per position are precomputed (including Llama 3 frequency scaling).
/// </summary>
public sealed class RotaryEmbedding
{
    private readonly float[] _cos;
    private readonly float[] _sin;
    private readonly int _half;

    public int MaxPositions { get; }

    public RotaryEmbedding(ModelConfig config, int? maxPositions = null)
    {
        int d = config.HeadDim;
        _half = d / 2;
        MaxPositions = maxPositions ?? config.MaxPositionEmbeddings;
        var invFreq = InverseFrequencies(d, config.RopeTheta, config.RopeScaling);
        _cos = new float[MaxPositions * _half];
        _sin = new float[MaxPositions * _half];
        for (int p = 0; p < MaxPositions; p++)
        {
            for (int i = 0; i < _half; i++)
            {
                double angle = p * invFreq[i];
                _cos[p * _half + i] = (float)Math.Cos(angle);
                _sin[p * _half + i] = (float)Math.Sin(angle);
            }
        }
    }

    internal static double[] InverseFrequencies(int headDim, float theta, RopeScaling? scaling)
    {
        var inv = new double[headDim / 2];
        for (int i = 0; i < inv.Length; i++) inv[i] = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
        if (scaling is { Type: "linear" })
        {
            for (int i = 0; i < inv.Length; i++) inv[i] /= scaling.Factor;
        }
        else if (scaling is { Type: "llama3" })
        {
            double lowWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.LowFreqFactor;
            double highWavelen = scaling.OriginalMaxPositionEmbeddings / scaling.HighFreqFactor;
            for (int i = 0; i < inv.Length; i++)
            {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen < highWavelen) continue;
                if (wavelen > lowWavelen)
                {
                    inv[i] /= scaling.Factor;
                }
                else
                {
                    double smooth = (scaling.OriginalMaxPositionEmbeddings / wavelen - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                    inv[i] = (1 - smooth) * inv[i] / scaling.Factor + smooth * inv[i];
                }
            }
        }
        return inv;
    }

    /// <summary>Rotates <paramref name="heads"/> consecutive head vectors in place for one position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(Span<float> vectors, int heads, int position)
    {
        if ((uint)position >= (uint)MaxPositions) throw new ArgumentOutOfRangeException(nameof(position), $"Position {position} is beyond the model's {MaxPositions} positions.");
        var cos = _cos.AsSpan(position * _half, _half);
        var sin = _sin.AsSpan(position * _half, _half);
        int d = 2 * _half;
        for (int h = 0; h < heads; h++)
        {
            var x = vectors.Slice(h * d, d);
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; i + 16 <= _half; i += 16)
                {
                    var (x0, x1) = (Vector512.Create(x.Slice(i, 16)), Vector512.Create(x.Slice(i + _half, 16)));
                    var (c, s) = (Vector512.Create(cos.Slice(i, 16)), Vector512.Create(sin.Slice(i, 16)));
                    (x0 * c - x1 * s).CopyTo(x.Slice(i, 16));
                    (x1 * c + x0 * s).CopyTo(x.Slice(i + _half, 16));
                }
            }

            for (; i < _half; i++)
            {
                float x0 = x[i], x1 = x[i + _half];
                x[i] = x0 * cos[i] - x1 * sin[i];
                x[i + _half] = x1 * cos[i] + x0 * sin[i];
            }
        }
    }
}
