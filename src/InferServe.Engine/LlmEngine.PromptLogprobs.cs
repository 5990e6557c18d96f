using InferServe.Engine.Core;

namespace InferServe.Engine;

/// <summary>
/// Prompt logprobs (completions echo + logprobs): each prompt row of a step also goes through the LM head, and the logprob
/// of the prompt's next token is recorded. Rows already reported (recompute after preemption) are skipped.
/// </summary>
public sealed partial class LlmEngine
{
    private readonly List<(Sequence Seq, int Row, int Start, int Count)> _promptChunks = [];
    private readonly List<int> _promptRows = [];
    private readonly List<(Sequence Seq, int Position)> _promptTargets = [];
    private float[] _samplingLogits = [];

    /// <summary>Notes a scheduled chunk whose rows predict prompt tokens still unreported.</summary>
    private void NotePromptChunk(Sequence seq, int row, int start, int count)
    {
        if (seq.PromptLogprobs is { } pl && start + count > pl.Count - 1 && start < seq.PromptLength - 1)
            _promptChunks.Add((seq, row, start, count));
    }

    /// <summary>
    /// Computes the step's prompt logprobs. The head runs again over those rows, overwriting the sampling logits, so they are
    /// copied first; returns the logits to sample from.
    /// </summary>
    private ReadOnlySpan<float> ComputePromptLogprobs(ReadOnlySpan<float> logits)
    {
        if (_samplingLogits.Length < logits.Length) _samplingLogits = new float[logits.Length];
        logits.CopyTo(_samplingLogits);
        _promptRows.Clear();
        _promptTargets.Clear();
        foreach (var (seq, row, start, count) in _promptChunks)
        {
            int end = Math.Min(start + count, seq.PromptLength - 1);
            for (int p = Math.Max(start, seq.PromptLogprobs!.Count - 1); p < end; p++)
            {
                _promptRows.Add(row + (p - start));
                _promptTargets.Add((seq, p + 1));
            }
        }
        int v = Config.VocabSize, max = _model.Runner.Options.MaxSeqs;
        var rows = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_promptRows);
        for (int g = 0; g < rows.Length; g += max)
        {
            var group = rows.Slice(g, Math.Min(max, rows.Length - g));
            var head = _model.Runner.HeadLogits(group);
            for (int i = 0; i < group.Length; i++)
            {
                var (seq, position) = _promptTargets[g + i];
                var list = seq.PromptLogprobs!;
                if (list.Count != position) continue; // reported before a preemption
                list.Add(_sampler.Logprobs(head.Slice(i * v, v), seq.Tokens[position], seq.Request.Spec.PromptLogprobs ?? 0));
            }
        }
        _promptChunks.Clear();
        return _samplingLogits.AsSpan(0, logits.Length);
    }

    /// <summary>The prompt logprobs, once complete, on a choice's first event after that.</summary>
    private static IReadOnlyList<TokenLogprob>? TakePromptLogprobs(Sequence seq)
    {
        if (seq.PromptLogprobs is not { } pl || seq.PromptLogprobsSent || pl.Count < seq.PromptLength) return null;
        seq.PromptLogprobsSent = true;
        return pl;
    }
}
