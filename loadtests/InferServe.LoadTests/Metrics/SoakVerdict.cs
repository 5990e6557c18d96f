namespace InferServe.LoadTests.Metrics;

/// <summary>One scrape of the server's /metrics during a run (run-clock seconds).</summary>
public sealed record ServerSample(double Time, double? ResidentBytes, double? KvUsage, double? Running, double? Waiting, double? OpenFds);

/// <summary>
/// A soak's verdict: resident memory growth after warm-up (flagged above 10 %) and p99 end-to-end latency drift
/// from the first to the last third of the measured requests (flagged above 20 %).
/// </summary>
public sealed record SoakVerdict(double? RssStart, double? RssEnd, double? RssGrowth, double P99First, double P99Last, double? P99Drift,
    bool MemoryFlagged, bool LatencyFlagged)
{
    public const double MaxRssGrowth = 0.10, MaxP99Drift = 0.20;

    public static SoakVerdict From(IReadOnlyList<RequestRecord> records, IReadOnlyList<ServerSample> samples, double measureStart)
    {
        var rss = samples.Where(s => s.Time >= measureStart && s.ResidentBytes is not null).Select(s => s.ResidentBytes!.Value).ToArray();
        double? start = rss.Length > 0 ? rss[0] : null, end = rss.Length > 0 ? rss[^1] : null;
        double? growth = start is > 0 ? end / start - 1 : null;

        var done = records.Where(r => !r.Warmup && r.Completed).OrderBy(r => r.Start).ToArray();
        int third = done.Length / 3;
        double first = Distribution.Of(done.Take(third).Select(r => RequestMetrics.E2e(r)!.Value)).P99;
        double last = Distribution.Of(done.Skip(done.Length - third).Select(r => RequestMetrics.E2e(r)!.Value)).P99;
        double? drift = third > 0 && first > 0 ? last / first - 1 : null;
        return new SoakVerdict(start, end, growth, first, last, drift, growth > MaxRssGrowth, drift > MaxP99Drift);
    }
}
