using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Tests;

public sealed class SummaryTests
{
    private const double Eps = 1e-9;
    private static readonly Slo Slo = Slo.Parse("ttft=500ms,tpot=50ms");

    private static RequestRecord[] Mixed() =>
    [
        Streams.Completed(0, [0.1, 0.14, 0.18, 0.22], end: 0.22, inputTokens: 100),   // meets both
        Streams.Completed(1, [1.6, 1.62], end: 1.62, inputTokens: 100),               // TTFT 600 ms: misses
        Streams.Completed(2, [2.1, 2.2, 2.3], end: 2.3, inputTokens: 100),            // TPOT 100 ms: misses
        Streams.Completed(3, [3.2], end: 3.2, inputTokens: 100),                      // one token: TPOT undefined, meets
        Streams.Failed(4, "http_429"),
        Streams.Failed(4.5, "http_429"),
        Streams.Failed(5, "stream_broken", 5.5, [5.1, 5.2, 5.3]),                     // tokens streamed, then failed
        Streams.Unfinished(6, [6.1, 6.2, 6.3, 6.4, 6.5]),                             // cut off by the stop
        Streams.Completed(-1, [-0.9, -0.8], end: -0.8, inputTokens: 1000, warmup: true),
    ];

    [Fact]
    public void Only_completed_requests_count_toward_throughput_and_latency()
    {
        var s = RunSummary.From("run", Mixed(), durationSeconds: 10, Slo);

        Assert.Equal(8, s.Requests); // warm-up excluded
        Assert.Equal(4, s.Completed);
        Assert.Equal(3, s.Failed);
        Assert.Equal(1, s.Unfinished);
        Assert.Equal(new Dictionary<string, int> { ["http_429"] = 2, ["stream_broken"] = 1 }, s.ErrorsByType);
        Assert.Equal(4 + 2 + 3 + 1, s.OutputTokens); // the failed and unfinished streams' tokens are not counted
        Assert.Equal(400, s.InputTokens);
        Assert.Equal(0.4, s.RequestThroughput, Eps);
        Assert.Equal(1.0, s.OutputTokenThroughput, Eps);
        Assert.Equal(41.0, s.TotalTokenThroughput, Eps);
        Assert.Equal(4, s.Ttft.Count);
        Assert.Equal(0.6, s.Ttft.Max, Eps);
        Assert.Equal(3, s.Tpot.Count); // the one-token request has none
        Assert.Equal(3 + 1 + 2, s.Itl.Count);
        Assert.Equal(0.1, s.Itl.Max, Eps);
    }

    [Fact]
    public void Goodput_counts_completed_requests_within_every_slo()
    {
        var s = RunSummary.From("run", Mixed(), durationSeconds: 10, Slo);
        Assert.Equal(2, s.GoodRequests);
        Assert.Equal(0.2, s.Goodput, Eps);
        Assert.Equal("ttft=500ms,tpot=50ms", s.Slo);

        var none = RunSummary.From("run", Mixed(), 10, Slo.None);
        Assert.Equal(4, none.GoodRequests);
    }

    [Fact]
    public void A_run_where_nothing_completed_reports_zero_throughput_and_no_latency()
    {
        var s = RunSummary.From("run", [Streams.Failed(0, "connection_refused"), Streams.Unfinished(0, [0.5])], 5, Slo);
        Assert.Equal(0, s.Completed);
        Assert.Equal(0, s.RequestThroughput);
        Assert.Equal(0, s.Goodput);
        Assert.True(double.IsNaN(s.Ttft.Median));
    }

    [Fact]
    public void Slo_parsing()
    {
        var slo = Slo.Parse("ttft=0.5s, tpot=50ms,e2e=2");
        Assert.Equal(0.5, slo.Ttft!.Value, Eps);
        Assert.Equal(0.05, slo.Tpot!.Value, Eps);
        Assert.Equal(2, slo.E2e!.Value, Eps);
        Assert.Throws<FormatException>(() => Slo.Parse("ttft"));
        Assert.Throws<FormatException>(() => Slo.Parse("latency=1s"));
        Assert.Throws<FormatException>(() => Slo.Parse("ttft=fast"));
    }

    [Fact]
    public void Time_series_buckets_completed_work_by_end_time()
    {
        var buckets = TimeSeries.Of(Mixed(), duration: 8, bucketSeconds: 2);
        Assert.Equal(4, buckets.Count);
        Assert.Equal([2, 2, 0, 0], buckets.Select(b => b.CompletedRequests));
        Assert.Equal([6, 4, 0, 0], buckets.Select(b => b.OutputTokens));
        Assert.Equal([0, 0, 3, 0], buckets.Select(b => b.Errors));
    }
}
