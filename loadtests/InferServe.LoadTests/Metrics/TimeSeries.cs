namespace InferServe.LoadTests.Metrics;

/// <summary>One bucket of a run over time: throughput of completed work and latency of requests that ended in it.</summary>
public sealed record TimeBucket(double Start, double Seconds, int CompletedRequests, int OutputTokens, int Errors, double TtftMedian, double E2eMedian);

public static class TimeSeries
{
    /// <summary>Buckets of <paramref name="bucketSeconds"/> from 0 to <paramref name="duration"/>; at most 1000 of them.</summary>
    public static IReadOnlyList<TimeBucket> Of(IEnumerable<RequestRecord> records, double duration, double bucketSeconds)
    {
        var measured = records.Where(r => !r.Warmup).ToArray();
        int n = Math.Clamp((int)Math.Ceiling(duration / bucketSeconds), 1, 1000);
        bucketSeconds = Math.Max(bucketSeconds, duration / n);
        int Index(double t) => Math.Clamp((int)(t / bucketSeconds), 0, n - 1);
        var done = measured.Where(r => r.Completed).ToLookup(r => Index(r.End!.Value));
        var failed = measured.Where(r => r.Error is not null).ToLookup(r => Index(r.End ?? r.Start));
        var buckets = new List<TimeBucket>(n);
        for (int i = 0; i < n; i++)
        {
            var ended = done[i].ToArray();
            buckets.Add(new TimeBucket(i * bucketSeconds, bucketSeconds, ended.Length, ended.Sum(RequestMetrics.OutputTokens), failed[i].Count(),
                Distribution.Of(ended.Select(r => RequestMetrics.Ttft(r)!.Value)).Median,
                Distribution.Of(ended.Select(r => RequestMetrics.E2e(r)!.Value)).Median));
        }
        return buckets;
    }
}
