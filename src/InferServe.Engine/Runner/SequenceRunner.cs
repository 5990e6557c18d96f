using InferServe.Engine.Attention;
using InferServe.Engine.Kv;

namespace InferServe.Engine.Runner;

/// <summary>
/// Runs a single sequence through a <see cref="ModelInstance"/>: prefill in chunks, then one token
/// per step. The building block of `inferserve generate`; the scheduler batches many of these.
/// </summary>
public sealed class SequenceRunner : IDisposable
{
    private readonly ModelInstance _model;
    private readonly AttentionBatch _batch;
    private readonly SequenceKv _kv = new(default);
    private readonly int[] _lastRow = new int[1];

    public int Length { get; private set; }

    public SequenceRunner(ModelInstance model)
    {
        _model = model;
        _batch = new AttentionBatch(model.Runner.Options.MaxBatchTokens, 1);
    }

    /// <summary>Appends tokens (prefill or one decode token) and returns logits after the last one.</summary>
    public ReadOnlySpan<float> Append(ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty) throw new ArgumentException("Nothing to append.", nameof(tokens));
        if (Length + tokens.Length > _model.MaxContext)
            throw new InvalidOperationException($"Sequence would exceed the model context of {_model.MaxContext} tokens.");
        if (!_model.Kv.TryReserve(_kv, Length, Length + tokens.Length))
            throw new InvalidOperationException("KV cache is full.");
        int chunk = _model.Runner.Options.MaxBatchTokens;
        ReadOnlySpan<float> logits = default;
        for (int start = 0; start < tokens.Length; start += chunk)
        {
            var part = tokens.Slice(start, Math.Min(chunk, tokens.Length - start));
            _batch.Clear();
            int seq = _batch.AddSequence(_kv.Table.Blocks, Length + part.Length);
            for (int i = 0; i < part.Length; i++) _batch.AddToken(seq, Length + i);
            _lastRow[0] = part.Length - 1;
            bool last = start + part.Length == tokens.Length;
            logits = _model.Runner.Forward(part, _batch, _model.Attention, last ? _lastRow : []);
            Length += part.Length;
        }
        return logits;
    }

    /// <summary>Logits for every position of a prompt (tests compare these with the reference).</summary>
    public float[] AllLogits(ReadOnlySpan<int> tokens)
    {
        int v = _model.Config.VocabSize;
        var result = new float[tokens.Length * v];
        for (int i = 0; i < tokens.Length; i++) Append(tokens.Slice(i, 1)).CopyTo(result.AsSpan(i * v, v));
        return result;
    }

    /// <summary>Prefills the whole prompt as one step and returns logits for every position.</summary>
    public float[] PrefillAllLogits(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length > _model.Runner.Options.MaxBatchTokens || tokens.Length > _model.Runner.Options.MaxSeqs)
            throw new ArgumentOutOfRangeException(nameof(tokens), "Prompt does not fit one step with logits for every row.");
        if (!_model.Kv.TryReserve(_kv, Length, Length + tokens.Length)) throw new InvalidOperationException("KV cache is full.");
        _batch.Clear();
        int seq = _batch.AddSequence(_kv.Table.Blocks, Length + tokens.Length);
        var rows = new int[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            _batch.AddToken(seq, Length + i);
            rows[i] = i;
        }
        var logits = _model.Runner.Forward(tokens, _batch, _model.Attention, rows).ToArray();
        Length += tokens.Length;
        return logits;
    }

    public void Dispose() => _model.Kv.Free(_kv);
}
