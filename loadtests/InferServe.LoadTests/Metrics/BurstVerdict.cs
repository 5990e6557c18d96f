namespace InferServe.LoadTests.Metrics;

/// <summary>
/// How a server took a burst above capacity: refusals (429 with Retry-After expected), failures of accepted
/// requests (should be none), and how long after the burst latency came back to its pre-burst level.
/// </summary>
public sealed record BurstVerdict(int Sent, int Refused, int RefusedWithoutRetryAfter, int AcceptedFailed, int Unfinished,
    double BaselineE2eMedian, double? RecoverySeconds, bool Pass)
{
    /// <summary>Refusal error types: HTTP 429 (with or without Retry-After) and gRPC's overload statuses.</summary>
    public static bool IsRefusal(string? error) => error is "http_429" or "http_429_no_retry_after" or "grpc_resourceexhausted" or "grpc_unavailable";

    /// <param name="burstStart">Run-clock seconds.</param>
    /// <param name="tolerance">Recovered once a window of requests has median E2E within this factor of the baseline.</param>
    public static BurstVerdict From(IReadOnlyList<RequestRecord> records, double burstStart, double burstEnd, double tolerance = 1.2, int window = 5)
    {
        var measured = records.Where(r => !r.Warmup).ToArray();
        int refused = measured.Count(r => IsRefusal(r.Error));
        int noRetry = measured.Count(r => r.Error == "http_429_no_retry_after");
        int failed = measured.Count(r => r.Error is not null && !IsRefusal(r.Error));
        int unfinished = measured.Count(r => r.Error is null && !r.Completed);
        var done = records.Where(r => r.Completed).OrderBy(r => r.Start).ToArray();
        double baseline = Distribution.Of(done.Where(r => r.End <= burstStart).Select(r => RequestMetrics.E2e(r)!.Value)).Median;
        var after = done.Where(r => r.Start >= burstEnd).ToArray();
        double? recovery = null;
        for (int i = 0; i + window <= after.Length && double.IsFinite(baseline); i++)
        {
            var median = Distribution.Of(after.Skip(i).Take(window).Select(r => RequestMetrics.E2e(r)!.Value)).Median;
            if (median <= baseline * tolerance)
            {
                recovery = after[i + window / 2].Start - burstEnd; // the window's middle request: the median is back by then
                break;
            }
        }
        return new BurstVerdict(measured.Length, refused, noRetry, failed, unfinished, baseline, recovery,
            Pass: noRetry == 0 && failed == 0 && unfinished == 0 && recovery is not null);
    }
}
