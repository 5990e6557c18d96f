using InferServe.LoadTests.Clients;
using InferServe.LoadTests.Load;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Tests;

public sealed class VerdictTests
{
    private static RequestRecord Req(double start, double e2e) => Streams.Completed(start, [start + e2e / 2, start + e2e], start + e2e);

    [Fact]
    public void Burst_counts_refusals_failures_and_the_time_to_recover()
    {
        var records = new List<RequestRecord>();
        for (int i = 0; i < 10; i++) records.Add(Req(i * 0.1, 0.1));             // before the burst (1.0 s to 2.0 s): 100 ms
        for (int i = 0; i < 20; i++) records.Add(Streams.Failed(1.0 + i * 0.05, "http_429"));
        records.Add(Streams.Failed(1.5, "http_429_no_retry_after"));
        records.Add(Streams.Failed(1.6, "grpc_resourceexhausted"));
        for (int i = 0; i < 5; i++) records.Add(Req(2.0 + i * 0.1, 0.5));        // just after: queue still draining
        for (int i = 0; i < 10; i++) records.Add(Req(3.0 + i * 0.1, 0.11));      // recovered from 3.0 s

        var v = BurstVerdict.From(records, burstStart: 1.0, burstEnd: 2.0);

        Assert.Equal(22, v.Refused);
        Assert.Equal(1, v.RefusedWithoutRetryAfter);
        Assert.Equal(0, v.AcceptedFailed);
        Assert.Equal(0.1, v.BaselineE2eMedian, 9);
        Assert.Equal(1.0, v.RecoverySeconds!.Value, 9);
        Assert.False(v.Pass); // one 429 lacked Retry-After

        records.RemoveAll(r => r.Error == "http_429_no_retry_after");
        Assert.True(BurstVerdict.From(records, 1.0, 2.0).Pass);
        records.Add(Streams.Failed(2.5, "stream_broken"));
        var failed = BurstVerdict.From(records, 1.0, 2.0);
        Assert.Equal(1, failed.AcceptedFailed);
        Assert.False(failed.Pass);
    }

    [Fact]
    public void Burst_that_never_recovers_fails()
    {
        var records = Enumerable.Range(0, 10).Select(i => Req(i * 0.1, 0.1)).Concat(Enumerable.Range(0, 10).Select(i => Req(2 + i * 0.1, 1.0))).ToList();
        var v = BurstVerdict.From(records, 1.0, 2.0);
        Assert.Null(v.RecoverySeconds);
        Assert.False(v.Pass);
    }

    [Fact]
    public void Soak_flags_memory_growth_after_warm_up_and_p99_drift()
    {
        var steady = Enumerable.Range(0, 30).Select(i => Req(i, 0.1)).ToList();
        ServerSample Rss(double t, double mb) => new(t, mb * (1 << 20), 0.1, 1, 0, 100);
        // Warm-up growth (before 5 s) is ignored; 100 → 105 MB after it is +5 %.
        var ok = SoakVerdict.From(steady, [Rss(0, 50), Rss(5, 100), Rss(15, 103), Rss(29, 105)], measureStart: 5);
        Assert.Equal(0.05, ok.RssGrowth!.Value, 9);
        Assert.False(ok.MemoryFlagged);
        Assert.Equal(0, ok.P99Drift!.Value, 9);
        Assert.False(ok.LatencyFlagged);

        var leaking = SoakVerdict.From(steady, [Rss(5, 100), Rss(29, 111)], 5);
        Assert.True(leaking.MemoryFlagged);

        var drifting = Enumerable.Range(0, 30).Select(i => Req(i, i < 20 ? 0.1 : 0.13)).ToList();
        var slow = SoakVerdict.From(drifting, [], 5);
        Assert.Equal(0.3, slow.P99Drift!.Value, 9);
        Assert.True(slow.LatencyFlagged);
        Assert.Null(slow.RssGrowth); // no process metrics: no memory verdict, not a pass by default
        Assert.False(slow.MemoryFlagged);
    }

    [Fact]
    public void Sampler_reads_process_and_kv_metrics_summed_over_series()
    {
        var text = """
            # HELP process_resident_memory_bytes Resident memory size in bytes.
            # TYPE process_resident_memory_bytes gauge
            process_resident_memory_bytes 1.5e+08
            inferserve_kv_cache_usage_perc{model_name="a"} 0.25
            inferserve_num_requests_waiting{model_name="a"} 3
            inferserve_num_requests_waiting{model_name="b"} 2
            """;
        var s = ServerSampler.Parse(text, 1.5);
        Assert.Equal(1.5e8, s.ResidentBytes);
        Assert.Equal(0.25, s.KvUsage);
        Assert.Equal(5, s.Waiting);
        Assert.Null(s.OpenFds);
        Assert.Equal(1.5, s.Time);
    }

    [Fact]
    public void Burst_arrivals_rise_only_inside_the_window()
    {
        var b = new BurstRate(Base: 10, Peak: 200, At: 5, Length: 2);
        var rng = new Random(1);
        var arrivals = new List<double>();
        for (double? t = 0; (t = b.NextArrival(rng, t.Value)) is { } a && a < 10;) arrivals.Add(a);
        Assert.InRange(arrivals.Count(a => a is >= 5 and < 7), 330, 470);   // 400 expected
        Assert.InRange(arrivals.Count(a => a < 5), 30, 75);                 // 50 expected
    }
}
