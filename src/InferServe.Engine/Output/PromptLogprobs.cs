using System.Runtime.InteropServices;
using InferServe.Engine.Core;
using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;
using InferServe.Engine.Scheduling;

namespace InferServe.Engine.Output;

/// <summary>
/// Prompt logprobs (completions echo + logprobs): each prompt row of a step also goes through the LM head, and the logprob
/// of the prompt's next token is recorded. Rows already reported (recompute after preemption) are skipped.
/// </summary>
internal sealed class PromptLogprobs(ModelRunner runner, Sampler sampler)
{
    private readonly List<int> _rows = [];
    private readonly List<(Sequence Seq, int Position)> _targets = [];
    private float[] _samplingLogits = [];

    /// <summary>
    /// Records the step's prompt logprobs. The head runs again over those rows, overwriting the sampling logits, so they
    /// are copied first; returns the logits to sample from (<paramref name="logits"/> itself when no row needed the head).
    /// </summary>
    public ReadOnlySpan<float> Record(List<ScheduledChunk> plan, BatchBuilder batch, ReadOnlySpan<float> logits)
    {
        _rows.Clear();
        _targets.Clear();
        for (int c = 0; c < plan.Count; c++)
        {
            var (seq, start, count) = plan[c];
            if (seq.PromptLogprobs is not { } reported) continue;
            int end = Math.Min(start + count, seq.PromptLength - 1);
            for (int p = Math.Max(start, reported.Count - 1); p < end; p++)
            {
                _rows.Add(batch.ChunkRow(c) + (p - start));
                _targets.Add((seq, p + 1));
            }
        }
        if (_rows.Count == 0) return logits;
        if (_samplingLogits.Length < logits.Length) _samplingLogits = new float[logits.Length];
        logits.CopyTo(_samplingLogits);
        int v = runner.Config.VocabSize, max = runner.Options.MaxSeqs;
        var rows = CollectionsMarshal.AsSpan(_rows);
        for (int g = 0; g < rows.Length; g += max)
        {
            var group = rows.Slice(g, Math.Min(max, rows.Length - g));
            var head = runner.HeadLogits(group);
            for (int i = 0; i < group.Length; i++)
            {
                var (seq, position) = _targets[g + i];
                var list = seq.PromptLogprobs!;
                if (list.Count != position) continue; // reported before a preemption
                list.Add(sampler.Logprobs(head.Slice(i * v, v), seq.Tokens[position], seq.Request.Spec.PromptLogprobs ?? 0));
            }
        }
        return _samplingLogits.AsSpan(0, logits.Length);
    }
}
