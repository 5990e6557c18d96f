using System.Diagnostics;

namespace InferServe.Engine.Runner;

/// <summary>Cumulative step-time breakdown of a runner. Written by the engine thread only.</summary>
public sealed class RunnerTimings
{
    public long Steps { get; private set; }
    public long Tokens { get; private set; }
    public long DenseTicks { get; private set; }
    public long AttentionTicks { get; private set; }
    public long HeadTicks { get; private set; }
    public long TotalTicks { get; private set; }

    internal void Add(int tokens, long dense, long attention, long head, long total)
    {
        Steps++;
        Tokens += tokens;
        DenseTicks += dense;
        AttentionTicks += attention;
        HeadTicks += head;
        TotalTicks += total;
    }

    public (long Steps, long Tokens, double DenseMs, double AttentionMs, double HeadMs, double TotalMs) Snapshot() =>
        (Steps, Tokens, Ms(DenseTicks), Ms(AttentionTicks), Ms(HeadTicks), Ms(TotalTicks));

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
