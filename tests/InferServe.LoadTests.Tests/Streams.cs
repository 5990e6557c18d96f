using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Tests;

/// <summary>Builds synthetic requests from timestamps (seconds since the run started).</summary>
internal static class Streams
{
    public static RequestRecord Completed(double start, double[] chunks, double end, int inputTokens = 10, int? usageTokens = null, string scenario = "s", bool warmup = false)
    {
        var r = new RequestRecord { Scenario = scenario, Start = start, Warmup = warmup, End = end, InputTokens = inputTokens };
        foreach (var t in chunks) r.Chunks.Add((t, 1));
        r.OutputTokens = usageTokens ?? chunks.Length;
        return r;
    }

    public static RequestRecord Failed(double start, string error, double? end = null, double[]? chunks = null)
    {
        var r = new RequestRecord { Scenario = "s", Start = start, Error = error, End = end ?? start + 0.01 };
        foreach (var t in chunks ?? []) r.Chunks.Add((t, 1));
        return r;
    }

    /// <summary>Cut off when the run stopped: tokens streamed, no end.</summary>
    public static RequestRecord Unfinished(double start, double[] chunks)
    {
        var r = new RequestRecord { Scenario = "s", Start = start };
        foreach (var t in chunks) r.Chunks.Add((t, 1));
        return r;
    }
}
