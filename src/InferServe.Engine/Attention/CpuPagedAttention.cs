using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using InferServe.Engine.Kv;
using InferServe.Models;

namespace InferServe.Engine.Attention;

/// <summary>
/// Causal GQA attention over paged KV blocks of any dtype (dequantized block by block inside the
/// kernel), SIMD through System.Numerics vectors, parallel over (token, kv-head) work items when a
/// step is large enough to pay for the fork.
/// </summary>
public sealed unsafe class CpuPagedAttention : IAttentionBackend
{
    private readonly ModelConfig _config;
    private readonly KvStorage _storage;
    private readonly RotaryEmbedding _rope;
    private readonly float _scale;
    private readonly int _qkvWidth;

    /// <summary>Work (in key·head products) below which a step runs on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 13;

    private int _layer;
    private AttentionBatch? _batch;
    private IntPtr _q, _o;
    private readonly Action<int> _attendItem;

    public CpuPagedAttention(ModelConfig config, KvStorage storage, RotaryEmbedding rope)
    {
        _attendItem = i => AttendGroup(_layer, _batch!, i, _q, _o);
        _config = config;
        _storage = storage;
        _rope = rope;
        _scale = 1f / MathF.Sqrt(config.HeadDim);
        _qkvWidth = config.QDim + 2 * config.KvDim;
    }

    // Hot kernels here and in Kv/ are AggressiveOptimization: tier-0 vector code measured ~20x slower,
    // and a busy server can stay in tier 0 for a long time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            {
                // Cached delegate over per-call fields: no closure allocation per layer.
                (_layer, _batch, _q, _o) = (layer, batch, q, o);
                Parallel.For(0, items, _attendItem);
            }
        }
    }

    private sealed class Scratch(int blockSize, int headDim)
    {
        public float[] Scores = new float[256];
        public readonly float[] Block = new float[blockSize * headDim];
        public readonly float[] Dots = new float[blockSize];
        // Pinned (POH), so a raw pointer into it stays valid.
        public float[] RotatedQ = GC.AllocateArray<float>(64 * 64, pinned: true);
    }

    [ThreadStatic] private static Scratch? _scratch;

    /// <summary>
    /// One token × one KV head: every query head of the group against the sequence's keys. Each block is
    /// decoded once into a block-sized scratch and reused by all query heads of the group (GQA).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AttendGroup(int layer, AttentionBatch batch, int item, IntPtr qkvBase, IntPtr outBase)
    {
        int kvHeads = _config.NumKvHeads, d = _config.HeadDim, group = _config.GroupSize, bs = _storage.Spec.BlockSize;
        int t = item / kvHeads, g = item % kvHeads;
        int ctx = batch.TokenPosition[t] + 1;
        var table = batch.BlockTables[batch.TokenSeq[t]];
        var s = _scratch is { } sc && sc.Block.Length == bs * d ? sc : (_scratch = new Scratch(bs, d));
        if (s.Scores.Length < group * ctx) s.Scores = new float[Math.Max(group * ctx, s.Scores.Length * 2)];
        var qBase = (float*)qkvBase + (long)t * _qkvWidth + g * group * d;
        var oBase = (float*)outBase + (long)t * _config.QDim + g * group * d;
        bool rotated = _storage.Rotated;
        if (rotated)
        {
            // Keys are stored rotated; rotating the queries the same way leaves q·k unchanged.
            if (s.RotatedQ.Length < group * d) s.RotatedQ = GC.AllocateArray<float>(group * d, pinned: true);
            new ReadOnlySpan<float>(qBase, group * d).CopyTo(s.RotatedQ);
            for (int qh = 0; qh < group; qh++) Hadamard.Transform(s.RotatedQ.AsSpan(qh * d, d));
            qBase = (float*)Unsafe.AsPointer(ref s.RotatedQ[0]);
        }

        int blocks = (ctx + bs - 1) / bs;
        fixed (float* keys = s.Block, dots = s.Dots)
        {
            for (int b = 0; b < blocks; b++)
            {
                int j0 = b * bs, n = Math.Min(bs, ctx - j0);
                _storage.DequantizeKeys(layer, table[b], g, s.Block);
                for (int qh = 0; qh < group; qh++)
                {
                    ScoreBlock(qBase + qh * d, keys, d, bs, dots);
                    var scores = s.Scores.AsSpan(qh * ctx + j0, n);
                    for (int r = 0; r < n; r++) scores[r] = dots[r] * _scale;
                }
            }
        }
        for (int qh = 0; qh < group; qh++)
        {
            var row = s.Scores.AsSpan(qh * ctx, ctx);
            TensorPrimitives.SoftMax(row, row);
            new Span<float>(oBase + qh * d, d).Clear();
        }
        fixed (float* values = s.Block, scores = s.Scores)
        {
            for (int b = 0; b < blocks; b++)
            {
                int j0 = b * bs, n = Math.Min(bs, ctx - j0);
                _storage.DequantizeValues(layer, table[b], g, n, s.Block);
                for (int qh = 0; qh < group; qh++) AccumulateValues(scores + qh * ctx + j0, values, n, d, oBase + qh * d);
            }
        }
        if (rotated)
            for (int qh = 0; qh < group; qh++) Hadamard.Transform(new Span<float>(oBase + qh * d, d)); // values were stored rotated: rotate the mix back
    }

    /// <summary>dots[j] = Σᵢ q[i]·keys[i·bs + j]: channel-major keys turn the block's dot products into vector FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreBlock(float* q, float* keys, int d, int bs, float* dots)
    {
        if (Vector512.IsHardwareAccelerated && bs == 16)
        {
            // The whole block's 16 scores live in one register.
            var acc = Vector512<float>.Zero;
            for (int i = 0; i < d; i++) acc = Vector512.FusedMultiplyAdd(Vector512.Create(q[i]), Vector512.Load(keys + i * 16), acc);
            acc.Store(dots);
            return;
        }
        int w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated && bs % w == 0)
        {
            for (int c = 0; c < bs; c += w)
            {
                var acc = Vector<float>.Zero;
                for (int i = 0; i < d; i++)
                    acc = Vector.FusedMultiplyAdd(new Vector<float>(q[i]), Unsafe.ReadUnaligned<Vector<float>>(keys + i * bs + c), acc);
                Unsafe.WriteUnaligned(dots + c, acc);
            }
            return;
        }
        for (int j = 0; j < bs; j++) dots[j] = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < bs; j++) dots[j] += q[i] * keys[i * bs + j];
    }

    /// <summary>o[i] += Σⱼ weights[j]·values[j·d + i], with the output chunk held in a register across keys.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateValues(float* weights, float* values, int n, int d, float* o)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; c + 16 <= d; c += 16)
            {
                var acc = Vector512.Load(o + c);
                for (int j = 0; j < n; j++) acc = Vector512.FusedMultiplyAdd(Vector512.Create(weights[j]), Vector512.Load(values + j * d + c), acc);
                acc.Store(o + c);
            }
        int w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; c + w <= d; c += w)
            {
                var acc = Unsafe.ReadUnaligned<Vector<float>>(o + c);
                for (int j = 0; j < n; j++)
                    acc = Vector.FusedMultiplyAdd(new Vector<float>(weights[j]), Unsafe.ReadUnaligned<Vector<float>>(values + j * d + c), acc);
                Unsafe.WriteUnaligned(o + c, acc);
            }
        for (; c < d; c++)
        {
            float acc = o[c];
            for (int j = 0; j < n; j++) acc += weights[j] * values[j * d + c];
            o[c] = acc;
        }
    }
}
