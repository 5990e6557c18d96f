using System.Numerics.Tensors;
using InferServe.Engine.Kv;
using InferServe.Models;

namespace InferServe.Engine.Attention;

/// <summary>
/// Causal GQA attention over paged fp32 KV blocks, SIMD through TensorPrimitives, parallel over
/// (token, kv-head) work items when a step is large enough to pay for the fork.
/// </summary>
public sealed unsafe class CpuPagedAttention : IAttentionBackend
{
    private readonly ModelConfig _config;
    private readonly KvStorage _storage;
    private readonly RotaryEmbedding _rope;
    private readonly float _scale;
    private readonly int _qkvWidth;

    [ThreadStatic] private static float[]? _scores;

    /// <summary>Work (in key·head products) below which a step runs on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 16;

    public CpuPagedAttention(ModelConfig config, KvStorage storage, RotaryEmbedding rope)
    {
        _config = config;
        _storage = storage;
        _rope = rope;
        _scale = 1f / MathF.Sqrt(config.HeadDim);
        _qkvWidth = config.QDim + 2 * config.KvDim;
    }

    public void Forward(int layer, AttentionBatch batch, Span<float> qkv, Span<float> output)
    {
        int T = batch.NumTokens, qDim = _config.QDim, kvDim = _config.KvDim, bs = _storage.Spec.BlockSize;
        long work = 0;
        for (int t = 0; t < T; t++)
        {
            var row = qkv.Slice(t * _qkvWidth, _qkvWidth);
            int pos = batch.TokenPosition[t];
            _rope.Apply(row[..qDim], _config.NumHeads, pos);
            _rope.Apply(row.Slice(qDim, kvDim), _config.NumKvHeads, pos);
            var table = batch.BlockTables[batch.TokenSeq[t]];
            _storage.Write(layer, table[pos / bs], pos % bs, row.Slice(qDim, kvDim), row.Slice(qDim + kvDim, kvDim));
            work += pos + 1;
        }

        int items = T * _config.NumKvHeads;
        fixed (float* qkvPtr = qkv, outPtr = output)
        {
            var q = (IntPtr)qkvPtr;
            var o = (IntPtr)outPtr;
            if (work * _config.NumHeads < ParallelThreshold || items == 1)
                for (int i = 0; i < items; i++) AttendGroup(layer, batch, i, q, o);
            else
                Parallel.For(0, items, i => AttendGroup(layer, batch, i, q, o));
        }
    }

    /// <summary>One token × one KV head: all query heads of its group against the sequence's keys.</summary>
    private void AttendGroup(int layer, AttentionBatch batch, int item, IntPtr qkvBase, IntPtr outBase)
    {
        int kvHeads = _config.NumKvHeads, d = _config.HeadDim, group = _config.GroupSize, bs = _storage.Spec.BlockSize;
        int t = item / kvHeads, g = item % kvHeads;
        int ctx = batch.TokenPosition[t] + 1;
        var table = batch.BlockTables[batch.TokenSeq[t]];
        var scores = _scores is { } s && s.Length >= ctx ? s : (_scores = new float[Math.Max(ctx, 256) * 2]);

        for (int qh = g * group; qh < (g + 1) * group; qh++)
        {
            var q = new ReadOnlySpan<float>((float*)qkvBase + (long)t * _qkvWidth + qh * d, d);
            var o = new Span<float>((float*)outBase + (long)t * _config.QDim + qh * d, d);
            var sc = scores.AsSpan(0, ctx);
            for (int b = 0, j = 0; j < ctx; b++)
            {
                var keys = _storage.KeyBlock(layer, table[b], g);
                int n = Math.Min(bs, ctx - j);
                for (int k = 0; k < n; k++, j++) sc[j] = TensorPrimitives.Dot(q, keys.Slice(k * d, d)) * _scale;
            }
            TensorPrimitives.SoftMax(sc, sc);
            o.Clear();
            for (int b = 0, j = 0; j < ctx; b++)
            {
                var values = _storage.ValueBlock(layer, table[b], g);
                int n = Math.Min(bs, ctx - j);
                for (int k = 0; k < n; k++, j++) TensorPrimitives.MultiplyAdd(values.Slice(k * d, d), sc[j], o, o);
            }
        }
    }
}
