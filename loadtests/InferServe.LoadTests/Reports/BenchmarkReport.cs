using System.Text.Json.Serialization;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Reports;

/// <summary>One run of every scenario at one load level (a sweep has several).</summary>
public sealed record RunPoint(string Label, double Level, RunSummary Total, IReadOnlyList<RunSummary> Scenarios, IReadOnlyList<TimeBucket> Series)
{
    /// <summary>Per-request records, for the CDF plots; not written to JSON.</summary>
    [JsonIgnore]
    public IReadOnlyList<RequestRecord> Records { get; init; } = [];

    /// <summary>Server /metrics scrapes (with --monitor) and the soak verdict drawn from them.</summary>
    public IReadOnlyList<ServerSample> ServerSamples { get; init; } = [];

    public SoakVerdict? Soak { get; init; }

    /// <summary>Per burst scenario.</summary>
    public IReadOnlyDictionary<string, BurstVerdict> Bursts { get; init; } = new Dictionary<string, BurstVerdict>();
}

/// <summary>Everything a report shows. Latencies are in seconds here; the writers print milliseconds.</summary>
public sealed record BenchmarkReport(string Target, string Command, DateTimeOffset StartedAt, string SweepAxis,
    IReadOnlyList<string> Scenarios, IReadOnlyList<int> Seeds, IReadOnlyList<RunPoint> Points);
