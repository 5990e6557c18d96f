using System.Diagnostics;

namespace InferServe.Engine.Runner;

/// <summary>
/// Cumulative step-time breakdown of a runner, for all steps and separately for decode-only steps
/// (every sequence contributes one token: no prefill chunk in the batch). Written by the engine thread only.
/// </summary>
public sealed class RunnerTimings
{
    private Totals _all, _decode;

    public long Steps => _all.Steps;
    public long Tokens => _all.Tokens;

    internal void Add(int tokens, bool decodeOnly, long dense, long attention, long head, long total)
    {
        _all.Add(tokens, dense, attention, head, total);
        if (decodeOnly) _decode.Add(tokens, dense, attention, head, total);
    }

    public StepTimes Snapshot() => _all.Times;

    /// <summary>Decode-only steps: the steady state of batched generation.</summary>
    public StepTimes DecodeSnapshot() => _decode.Times;

    private struct Totals
    {
        public long Steps, Tokens, Dense, Attention, Head, Total;

        public void Add(int tokens, long dense, long attention, long head, long total) =>
            (Steps, Tokens, Dense, Attention, Head, Total) = (Steps + 1, Tokens + tokens, Dense + dense, Attention + attention, Head + head, Total + total);

        public readonly StepTimes Times => new(Steps, Tokens, Ms(Dense), Ms(Attention), Ms(Head), Ms(Total));
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Step count, tokens and milliseconds spent in each part of the step, summed.</summary>
public readonly record struct StepTimes(long Steps, long Tokens, double DenseMs, double AttentionMs, double HeadMs, double TotalMs)
{
    public StepTimes Minus(StepTimes earlier) =>
        new(Steps - earlier.Steps, Tokens - earlier.Tokens, DenseMs - earlier.DenseMs, AttentionMs - earlier.AttentionMs, HeadMs - earlier.HeadMs, TotalMs - earlier.TotalMs);

    public string PerStep() => Steps == 0 ? "no steps" :
        $"{Steps} steps, {Tokens / (double)Steps:F1} tokens/step; per step: dense {DenseMs / Steps:F2} ms, attention {AttentionMs / Steps:F2} ms, head {HeadMs / Steps:F2} ms, runner total {TotalMs / Steps:F2} ms";
}
