using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using InferServe.Backend;
using InferServe.Engine.Kv;
using InferServe.Models;

namespace InferServe.Engine.Attention;

/// <summary>
/// Causal GQA attention over paged KV blocks of any dtype. Per layer: RoPE and KV writes, one work item
/// per (sequence, block) run; then attention, one work item per tile of (sequence, KV head, up to 16
/// query tokens) with the block kernels (codes read in place), or per (token, KV head) with the generic
/// kernel for shapes they do not cover. Items fan out on <see cref="IParallelFor"/> when a step is large
/// enough to pay for the fork.
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
    private readonly Action<int> _attendTile;

    private readonly bool _fast;
    private readonly int _groupSize;
    private readonly int _groups;
    private readonly int _paramOffset;
    private readonly int _headBytes;
    /// <summary>Query tokens of one sequence that share a tile, and so every key and value load.</summary>
    private const int TileTokens = 16;
    /// <summary>Blocks between the one being read and the one being prefetched.</summary>
    private const int PrefetchDistance = 2;
    /// <summary>Tokens per part of a long context (a multiple of the 16-token block).</summary>
    private const int PartTokens = 256;
    private const int PartBlocks = PartTokens / 16;
    /// <summary>GQA group sizes up to which single-token tiles are split (entries per split item).</summary>
    private const int MaxGroupRows = 16;
    private int[] _itemTile = [];
    private int[] _itemPart = [];
    private int _items;
    private readonly PartResults _stepParts = new();
    private int[] _tileStart = [];
    private int[] _tileCount = [];
    private int[] _tileHead = [];
    private int _tiles;
    private int[] _runStart = [];
    private int[] _runCount = [];
    private int _runs;
    // The step plan (runs, tiles, items, whether to fork) depends only on the batch: built once per step.
    private AttentionBatch? _plannedBatch;
    private long _plannedVersion = -1;
    private bool _forkStep;
    private readonly Action<int> _writeRun;
    private int _qkvLength;

    private readonly IParallelFor _parallel;

    /// <param name="parallel">Where a step's work items run; ORT's own pool where the runner offers it (see <see cref="OrtHostParallelFor"/>).</param>
    public CpuPagedAttention(ModelConfig config, KvStorage storage, RotaryEmbedding rope, bool allowBlockKernels = true, IParallelFor? parallel = null)
    {
        _parallel = parallel ?? ThreadPoolParallelFor.Instance;
        _attendItem = i => AttendGroup(_layer, _batch!, i, _q, _o);
        _attendTile = i => AttendTile(_layer, _batch!, i, (float*)_q, (float*)_o);
        _writeRun = i => WriteRun(_layer, _batch!, new Span<float>((float*)_q, _qkvLength), i);
        _config = config;
        _storage = storage;
        _rope = rope;
        _scale = 1f / MathF.Sqrt(config.HeadDim);
        _qkvWidth = config.QDim + 2 * config.KvDim;
        _groupSize = KvCacheSpec.QuantGroupSize(storage.Spec.DType, config.HeadDim);
        _groups = config.HeadDim / _groupSize;
        _paramOffset = storage.ParamOffset;
        _headBytes = storage.HeadBytes;
        _fast = allowBlockKernels && BlockKernels.Supported(storage.Spec.BlockSize, config.HeadDim, _groupSize);
    }

    /// <summary>Time spent on RoPE and KV-cache writes, accumulated (Stopwatch ticks; read by `bench --profile`).</summary>
    public long WriteTicks { get; private set; }

    /// <summary>Whether the block kernels (AVX-512, 16-token blocks) run, rather than the generic per-token kernel.</summary>
    public bool UsesBlockKernels => _fast;

    // Hot kernels here and in Kv/ are AggressiveOptimization: tier-0 vector code measured ~20x slower,
    // and a busy server can stay in tier 0 for a long time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(int layer, AttentionBatch batch, Span<float> qkv, Span<float> output)
    {
        long started = Stopwatch.GetTimestamp();
        Plan(batch);
        fixed (float* qkvPtr = qkv, outPtr = output)
        {
            // Cached delegates over per-call fields: no closure allocation per layer.
            (_layer, _batch, _q, _o, _qkvLength) = (layer, batch, (IntPtr)qkvPtr, (IntPtr)outPtr, qkv.Length);
            if (_forkStep && _runs > 1) _parallel.For(_runs, _writeRun);
            else
                for (int r = 0; r < _runs; r++) WriteRun(layer, batch, qkv, r);
            WriteTicks += Stopwatch.GetTimestamp() - started;
            if (_fast)
            {
                if (!_forkStep || _items == 1)
                    for (int i = 0; i < _items; i++) AttendTile(layer, batch, i, qkvPtr, outPtr);
                else _parallel.For(_items, _attendTile);
                if (_items > _tiles) MergeParts(outPtr);
                return;
            }
            int items = batch.NumTokens * _config.NumKvHeads;
            if (!_forkStep || items == 1)
                for (int i = 0; i < items; i++) AttendGroup(layer, batch, i, _q, _o);
            else _parallel.For(items, _attendItem);
        }
    }

    /// <summary>Plans a step once (every layer sees the same batch): write runs, tiles and work items, and whether to fork.</summary>
    private void Plan(AttentionBatch batch)
    {
        if (_plannedBatch == batch && _plannedVersion == batch.Version) return;
        long work = 0;
        for (int t = 0; t < batch.NumTokens; t++) work += batch.TokenPosition[t] + 1;
        _forkStep = work * _config.NumHeads >= ParallelThreshold;
        BuildRuns(batch);
        if (_fast) BuildTiles(batch);
        (_plannedBatch, _plannedVersion) = (batch, batch.Version);
    }

    /// <summary>
    /// Splits the step's tokens into runs that share a sequence and a KV block. Runs are written in
    /// parallel; a block never straddles two runs (int4 keys pack two tokens in one byte).
    /// </summary>
    private void BuildRuns(AttentionBatch batch)
    {
        int T = batch.NumTokens, bs = _storage.Spec.BlockSize;
        if (_runStart.Length < T) (_runStart, _runCount) = (new int[T], new int[T]);
        int n = 0;
        for (int t = 0; t < T;)
        {
            int seq = batch.TokenSeq[t], block = batch.TokenPosition[t] / bs, count = 1;
            while (t + count < T && batch.TokenSeq[t + count] == seq && batch.TokenPosition[t + count] / bs == block) count++;
            (_runStart[n], _runCount[n++]) = (t, count);
            t += count;
        }
        _runs = n;
    }

    /// <summary>RoPE on a run's q and k rows, then its k/v into the cache (quantized on write).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteRun(int layer, AttentionBatch batch, Span<float> qkv, int run)
    {
        int qDim = _config.QDim, kvDim = _config.KvDim, bs = _storage.Spec.BlockSize;
        for (int t = _runStart[run], end = t + _runCount[run]; t < end; t++)
        {
            var row = qkv.Slice(t * _qkvWidth, _qkvWidth);
            int pos = batch.TokenPosition[t];
            _rope.Apply(row[..qDim], _config.NumHeads, pos);
            _rope.Apply(row.Slice(qDim, kvDim), _config.NumKvHeads, pos);
            var table = batch.BlockTables[batch.TokenSeq[t]];
            _storage.Write(layer, table[pos / bs], pos % bs, row.Slice(qDim, kvDim), row.Slice(qDim + kvDim, kvDim));
        }
    }

    /// <summary>Splits the step into (sequence, KV head, up to <see cref="TileTokens"/> consecutive query tokens) tiles.</summary>
    private void BuildTiles(AttentionBatch batch)
    {
        int T = batch.NumTokens, kvHeads = _config.NumKvHeads, capacity = (T + batch.NumSeqs * TileTokens) / TileTokens * kvHeads + kvHeads;
        if (_tileStart.Length < capacity) (_tileStart, _tileCount, _tileHead) = (new int[capacity], new int[capacity], new int[capacity]);
        int n = 0;
        for (int t = 0; t < T;)
        {
            int seq = batch.TokenSeq[t], count = 1;
            while (t + count < T && count < TileTokens && batch.TokenSeq[t + count] == seq) count++;
            for (int g = 0; g < kvHeads; g++) (_tileStart[n], _tileCount[n], _tileHead[n++]) = (t, count, g);
            t += count;
        }
        // Work items: whole tiles first; then single-token tiles of long contexts, split into one item per part
        // so the threads can share a lone long sequence (flash-decoding). Splitting changes no arithmetic.
        int items = 0;
        for (int i = 0; i < n; i++) items += SplitParts(batch, i);
        if (_itemTile.Length < items) (_itemTile, _itemPart) = (new int[items], new int[items]);
        int m = 0;
        for (int i = 0; i < n; i++)
            if (SplitParts(batch, i) == 1) (_itemTile[m], _itemPart[m++]) = (i, -1);
        _tiles = m;
        for (int i = 0; i < n; i++)
        {
            if (SplitParts(batch, i) is int parts and > 1)
                for (int p = 0; p < parts; p++) (_itemTile[m], _itemPart[m++]) = (i, p);
        }

        _items = m;
        _stepParts.Ensure((_items - _tiles) * MaxGroupRows, _config.HeadDim);
    }

    /// <summary>Items a tile becomes: one per part for a single query token over more than one part, else one.</summary>
    private int SplitParts(AttentionBatch batch, int tile)
    {
        if (_tileCount[tile] != 1 || _config.GroupSize > MaxGroupRows) return 1;
        return Math.Max(1, (batch.TokenPosition[_tileStart[tile]] + PartTokens) / PartTokens);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AttendTile(int layer, AttentionBatch batch, int item, float* qkv, float* output)
    {
        switch (_storage.Spec.DType)
        {
            case KvDType.Fp32: AttendTile<Fp32Codec>(layer, batch, item, qkv, output); break;
            case KvDType.Fp16: AttendTile<Fp16Codec>(layer, batch, item, qkv, output); break;
            case KvDType.Int8: AttendTile<Int8Codec>(layer, batch, item, qkv, output); break;
            default: AttendTile<Int4Codec>(layer, batch, item, qkv, output); break;
        }
    }

    /// <summary>Partial results of long rows: per (row, part) the unnormalized value mix (d floats), max score and weight sum.</summary>
    private sealed class PartResults
    {
        public float[] Mix = [], Max = [], Sum = [];

        public void Ensure(int entries, int d)
        {
            if (Max.Length < entries) (Mix, Max, Sum) = (new float[entries * d], new float[entries], new float[entries]);
        }
    }

    private sealed class TileScratch
    {
        public float[] Q = [], QSum = [], Scores = [], Out = [], Bias = [];
        public nint[] Keys = [], Values = [];
        public readonly float[] Scaled = GC.AllocateArray<float>(64, pinned: true);
        public readonly PartResults Parts = new();

        public void Ensure(int rows, int d, int groups, int blocks)
        {
            // Pinned (POH): raw pointers into these stay valid; they only ever grow.
            if (Q.Length < rows * d) (Q, Out) = (GC.AllocateArray<float>(rows * d, pinned: true), GC.AllocateArray<float>(rows * d, pinned: true));
            if (QSum.Length < rows * groups) (QSum, Bias) = (GC.AllocateArray<float>(rows * groups, pinned: true), GC.AllocateArray<float>(rows * groups, pinned: true));
            if (Scores.Length < rows * blocks * BlockKernels.BlockSize) Scores = GC.AllocateArray<float>(rows * blocks * BlockKernels.BlockSize, pinned: true);
            if (Keys.Length < blocks) (Keys, Values) = (GC.AllocateArray<nint>(blocks, pinned: true), GC.AllocateArray<nint>(blocks, pinned: true));
        }
    }

    [ThreadStatic] private static TileScratch? _tileScratch;

    /// <summary>
    /// One work item: a whole tile, or one part of a split single-token tile. Query rows (token-major,
    /// then the GQA group's heads) go against the sequence's blocks four at a time, so each key and value
    /// load serves all of them. Causal: a row sees the keys up to its own position.
    /// A row whose context fits in one part (<see cref="PartTokens"/>) gets one normalized softmax. A longer
    /// row is always computed part by part and merged by <see cref="MergeRow"/>, whether its parts run in
    /// this item or in several: a row's arithmetic never depends on its tile (batch invariance).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AttendTile<TCodec>(int layer, AttentionBatch batch, int item, float* qkv, float* output) where TCodec : struct, IKvBlockCodec
    {
        int tile = _itemTile[item], onlyPart = _itemPart[item];
        int t0 = _tileStart[tile], nt = _tileCount[tile], g = _tileHead[tile];
        int d = _config.HeadDim, group = _config.GroupSize, groups = TCodec.Affine ? _groups : 1, gs = TCodec.Affine ? _groupSize : d;
        int rows = nt * group, bs = BlockKernels.BlockSize;
        int ctxMax = batch.TokenPosition[t0 + nt - 1] + 1, blocks = (ctxMax + bs - 1) / bs;
        var table = batch.BlockTables[batch.TokenSeq[t0]];
        var s = _tileScratch ??= new TileScratch();
        s.Ensure(rows, d, groups, PartBlocks);
        bool rotated = _storage.Rotated;
        fixed (float* qf = s.Q, qsum = s.QSum, outf = s.Out)
        fixed (nint* keys = s.Keys, values = s.Values)
        {
            for (int r = 0; r < rows; r++)
            {
                var dst = new Span<float>(qf + r * d, d);
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(qkv + (long)(t0 + r / group) * _qkvWidth + (g * group + r % group) * d, d), _scale, dst);
                // Keys are stored rotated; rotating the queries the same way leaves q·k unchanged.
                if (rotated) Hadamard.Transform(dst);
                if (TCodec.Affine)
                    for (int gi = 0; gi < groups; gi++) qsum[r * groups + gi] = TensorPrimitives.Sum(dst.Slice(gi * gs, gs));
            }

            if (onlyPart >= 0)
            {
                // One part of a split tile, all of whose rows are long: partial results for MergeParts.
                LoadPart(layer, table, g, onlyPart, blocks, keys, values);
                for (int r0 = 0; r0 < rows; r0 += 4)
                    Part<TCodec>(batch, t0, r0, Math.Min(4, rows - r0), onlyPart, keys, values, s, _stepParts, (item - _tiles) * MaxGroupRows + r0, 1);
                return;
            }

            // Rows are ordered by position, so the short ones (one part) come first.
            int shortRows = 0;
            while (shortRows < rows && batch.TokenPosition[t0 + shortRows / group] + 1 <= PartTokens) shortRows += group;
            if (shortRows > 0)
            {
                LoadPart(layer, table, g, 0, blocks, keys, values);
                for (int r0 = 0; r0 < shortRows; r0 += 4) Whole<TCodec>(batch, t0, r0, Math.Min(4, shortRows - r0), keys, values, s);
            }
            if (shortRows < rows)
            {
                int parts = (ctxMax + PartTokens - 1) / PartTokens, longRows = rows - shortRows;
                s.Parts.Ensure(longRows * parts, d);
                for (int p = 0; p < parts; p++)
                {
                    LoadPart(layer, table, g, p, blocks, keys, values);
                    for (int r0 = shortRows; r0 < rows; r0 += 4)
                        Part<TCodec>(batch, t0, r0, Math.Min(4, rows - r0), p, keys, values, s, s.Parts, (r0 - shortRows) * parts + p, parts);
                }
                for (int r = shortRows; r < rows; r++)
                {
                    int rowParts = (batch.TokenPosition[t0 + r / group] + PartTokens) / PartTokens;
                    MergeRow(s.Parts, (r - shortRows) * parts, 1, rowParts, new Span<float>(outf + r * d, d));
                }
            }

            for (int r = 0; r < rows; r++)
            {
                var src = new Span<float>(outf + r * d, d);
                if (rotated) Hadamard.Transform(src); // values were stored rotated: rotate the mix back
                src.CopyTo(new Span<float>(output + (long)(t0 + r / group) * _config.QDim + (g * group + r % group) * d, d));
            }
        }
    }

    /// <summary>Block-head pointers of part <paramref name="part"/>'s blocks (at most <see cref="PartBlocks"/>), from index 0.</summary>
    private void LoadPart(int layer, int[] table, int g, int part, int blocks, nint* keys, nint* values)
    {
        for (int b = part * PartBlocks, end = Math.Min(blocks, b + PartBlocks), i = 0; b < end; b++, i++)
        {
            keys[i] = (nint)_storage.KeyHead(layer, table[b], g);
            values[i] = (nint)_storage.ValueHead(layer, table[b], g);
        }
    }

    /// <summary>Rows [r0, r0 + nr) whose contexts fit in the first part: scores, one softmax each, the value mix into Out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Whole<TCodec>(AttentionBatch batch, int t0, int r0, int nr, nint* keys, nint* values, TileScratch s) where TCodec : struct, IKvBlockCodec
    {
        int group = _config.GroupSize, bs = BlockKernels.BlockSize, stride = PartBlocks * bs;
        int chunkCtx = batch.TokenPosition[t0 + (r0 + nr - 1) / group] + 1, chunkBlocks = (chunkCtx + bs - 1) / bs;
        fixed (float* scores = s.Scores)
        {
            float* sc = scores + r0 * stride;
            ScoreRows<TCodec>(r0, nr, chunkBlocks, keys, values, s, sc, stride);
            for (int r = 0; r < nr; r++)
            {
                int ctx = batch.TokenPosition[t0 + (r0 + r) / group] + 1;
                var row = new Span<float>(sc + r * stride, chunkBlocks * bs);
                TensorPrimitives.SoftMax(row[..ctx], row[..ctx]);
                row[ctx..].Clear();
            }
            MixRows<TCodec>(r0, nr, chunkBlocks, chunkCtx - (chunkBlocks - 1) * bs, values, s, sc, stride);
        }
    }

    /// <summary>
    /// Rows [r0, r0 + nr) against part <paramref name="part"/> (keys/values hold that part's blocks): each row's
    /// exp(s - local max) weights, their sum and the unnormalized value mix go to <paramref name="results"/> at
    /// entry <c>firstEntry + i·entryStep</c> for row r0 + i. A row that ends before the part gets sum 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Part<TCodec>(AttentionBatch batch, int t0, int r0, int nr, int part, nint* keys, nint* values, TileScratch s,
        PartResults results, int firstEntry, int entryStep) where TCodec : struct, IKvBlockCodec
    {
        int group = _config.GroupSize, bs = BlockKernels.BlockSize, d = _config.HeadDim, stride = PartBlocks * bs, start = part * PartTokens;
        int chunkCtx = batch.TokenPosition[t0 + (r0 + nr - 1) / group] + 1;
        if (chunkCtx <= start)
        {
            for (int i = 0; i < nr; i++) results.Sum[firstEntry + i * entryStep] = 0;
            return;
        }
        int local = Math.Min(chunkCtx - start, PartTokens), partBlocks = (local + bs - 1) / bs;
        fixed (float* scores = s.Scores, outf = s.Out)
        {
            float* sc = scores + r0 * stride;
            ScoreRows<TCodec>(r0, nr, partBlocks, keys, values, s, sc, stride);
            for (int r = 0; r < nr; r++)
            {
                int entry = firstEntry + r * entryStep, n = Math.Clamp(batch.TokenPosition[t0 + (r0 + r) / group] + 1 - start, 0, PartTokens);
                var row = new Span<float>(sc + r * stride, partBlocks * bs);
                if (n == 0)
                {
                    results.Sum[entry] = 0;
                    row.Clear();
                    continue;
                }
                float max = TensorPrimitives.Max(row[..n]);
                TensorPrimitives.Subtract(row[..n], max, row[..n]);
                TensorPrimitives.Exp(row[..n], row[..n]);
                (results.Max[entry], results.Sum[entry]) = (max, TensorPrimitives.Sum(row[..n]));
                row[n..].Clear();
            }
            MixRows<TCodec>(r0, nr, partBlocks, local - (partBlocks - 1) * bs, values, s, sc, stride);
            for (int r = 0; r < nr; r++)
                new ReadOnlySpan<float>(outf + (r0 + r) * d, d).CopyTo(results.Mix.AsSpan((firstEntry + r * entryStep) * d, d));
        }
    }

    /// <summary>
    /// Combines a long row's parts, in part order: rescaled to the largest part max, Σ wₚ·mixₚ / Σ wₚ·sumₚ is the
    /// full softmax mix. One code path for split and unsplit tiles, so both give the same bits.
    /// </summary>
    private static void MergeRow(PartResults results, int firstEntry, int entryStep, int parts, Span<float> dst)
    {
        int d = dst.Length;
        float max = float.NegativeInfinity, sum = 0;
        for (int p = 0; p < parts; p++)
            if (results.Sum[firstEntry + p * entryStep] > 0) max = Math.Max(max, results.Max[firstEntry + p * entryStep]);
        dst.Clear();
        for (int p = 0; p < parts; p++)
        {
            int entry = firstEntry + p * entryStep;
            if (results.Sum[entry] <= 0) continue;
            float weight = MathF.Exp(results.Max[entry] - max);
            sum += weight * results.Sum[entry];
            TensorPrimitives.MultiplyAdd(results.Mix.AsSpan(entry * d, d), weight, dst, dst);
        }
        TensorPrimitives.Multiply(dst, 1f / sum, dst);
    }

    /// <summary>Merges every split tile's parts (after the step's items ran) into the attention output.</summary>
    private void MergeParts(float* output)
    {
        int d = _config.HeadDim, group = _config.GroupSize;
        for (int item = _tiles; item < _items;)
        {
            int tile = _itemTile[item], t0 = _tileStart[tile], g = _tileHead[tile], end = item;
            while (end < _items && _itemTile[end] == tile) end++;
            for (int r = 0; r < group; r++)
            {
                var dst = new Span<float>(output + (long)t0 * _config.QDim + (g * group + r) * d, d);
                MergeRow(_stepParts, (item - _tiles) * MaxGroupRows + r, MaxGroupRows, end - item, dst);
                if (_storage.Rotated) Hadamard.Transform(dst);
            }
            item = end;
        }
    }

    /// <summary>Scores of rows [r0, r0 + nr) against the first <paramref name="blocks"/> blocks in <paramref name="keys"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreRows<TCodec>(int r0, int nr, int blocks, nint* keys, nint* values, TileScratch s, float* sc, int stride) where TCodec : struct, IKvBlockCodec
    {
        int d = _config.HeadDim, groups = TCodec.Affine ? _groups : 1, gs = TCodec.Affine ? _groupSize : d, bs = BlockKernels.BlockSize;
        fixed (float* qf = s.Q, qsum = s.QSum)
        {
            float* q = qf + r0 * d, qs = qsum + r0 * groups;
            for (int b = 0; b < blocks; b++)
            {
                byte* head = (byte*)keys[b];
                var prm = (Half*)(head + _paramOffset);
                // Blocks are scattered through the pool, so the hardware prefetcher cannot see the next one coming.
                // Two blocks ahead: one block's scoring is shorter than a memory round trip. Past the
                // last key block, the first value blocks come next.
                if (b == 0 && blocks > 1) BlockKernels.Prefetch((byte*)keys[1], _headBytes);
                int ahead = b + PrefetchDistance;
                BlockKernels.Prefetch((byte*)(ahead < blocks ? keys[ahead] : values[Math.Min(ahead - blocks, blocks - 1)]), _headBytes);
                switch (nr)
                {
                    case 1: BlockKernels.Score<TCodec, Rows1>(head, prm, q, qs, d, groups, gs, sc + b * bs, stride); break;
                    case 2: BlockKernels.Score<TCodec, Rows2>(head, prm, q, qs, d, groups, gs, sc + b * bs, stride); break;
                    case 3: BlockKernels.Score<TCodec, Rows3>(head, prm, q, qs, d, groups, gs, sc + b * bs, stride); break;
                    default: BlockKernels.Score<TCodec, Rows4>(head, prm, q, qs, d, groups, gs, sc + b * bs, stride); break;
                }
            }
        }
    }

    /// <summary>Out rows [r0, r0 + nr) = the weights in <paramref name="sc"/> times the values, plus the minimums' share (affine).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MixRows<TCodec>(int r0, int nr, int blocks, int lastCount, nint* values, TileScratch s, float* sc, int stride) where TCodec : struct, IKvBlockCodec
    {
        int d = _config.HeadDim, groups = TCodec.Affine ? _groups : 1, gs = TCodec.Affine ? _groupSize : d;
        fixed (float* outf = s.Out, bias = s.Bias, scaled = s.Scaled)
        {
            float* o = outf + r0 * d;
            for (int c = 0; c < d; c += 16)
            {
                switch (nr)
                {
                    case 1: BlockKernels.AccumulateChunk<TCodec, Rows1>(values, _paramOffset, _headBytes, blocks, lastCount, sc, stride, d, c, c / gs, scaled, o); break;
                    case 2: BlockKernels.AccumulateChunk<TCodec, Rows2>(values, _paramOffset, _headBytes, blocks, lastCount, sc, stride, d, c, c / gs, scaled, o); break;
                    case 3: BlockKernels.AccumulateChunk<TCodec, Rows3>(values, _paramOffset, _headBytes, blocks, lastCount, sc, stride, d, c, c / gs, scaled, o); break;
                    default: BlockKernels.AccumulateChunk<TCodec, Rows4>(values, _paramOffset, _headBytes, blocks, lastCount, sc, stride, d, c, c / gs, scaled, o); break;
                }
            }

            if (TCodec.Affine)
            {
                BlockKernels.MinShares(values, _paramOffset, blocks, lastCount, sc, stride, nr, groups, bias);
                for (int r = 0; r < nr; r++)
                {
                    for (int gi = 0; gi < groups; gi++)
                        TensorPrimitives.Add(new ReadOnlySpan<float>(o + r * d + gi * gs, gs), bias[r * groups + gi], new Span<float>(o + r * d + gi * gs, gs));
                }
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
        {
            for (; c + 16 <= d; c += 16)
            {
                var acc = Vector512.Load(o + c);
                for (int j = 0; j < n; j++) acc = Vector512.FusedMultiplyAdd(Vector512.Create(weights[j]), Vector512.Load(values + j * d + c), acc);
                acc.Store(o + c);
            }
        }

        int w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + w <= d; c += w)
            {
                var acc = Unsafe.ReadUnaligned<Vector<float>>(o + c);
                for (int j = 0; j < n; j++)
                    acc = Vector.FusedMultiplyAdd(new Vector<float>(weights[j]), Unsafe.ReadUnaligned<Vector<float>>(values + j * d + c), acc);
                Unsafe.WriteUnaligned(o + c, acc);
            }
        }

        for (; c < d; c++)
        {
            float acc = o[c];
            for (int j = 0; j < n; j++) acc += weights[j] * values[j * d + c];
            o[c] = acc;
        }
    }
}
