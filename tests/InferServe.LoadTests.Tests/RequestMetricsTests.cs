using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Tests;

public sealed class RequestMetricsTests
{
    private const double Eps = 1e-9;

    [Fact]
    public void Ttft_tpot_itl_and_e2e_of_a_stream_with_a_stall()
    {
        // First token at +0.2 s, two quick tokens, then a 0.2 s stall before the last one.
        var r = Streams.Completed(1.0, [1.2, 1.25, 1.30, 1.50], end: 1.55);

        Assert.Equal(0.2, RequestMetrics.Ttft(r)!.Value, Eps);
        Assert.Equal(0.55, RequestMetrics.E2e(r)!.Value, Eps);
        Assert.Equal((1.55 - 1.2) / 3, RequestMetrics.Tpot(r)!.Value, Eps);
        var itl = RequestMetrics.Itl(r).ToArray();
        Assert.Equal(3, itl.Length);
        Assert.Equal(0.05, itl[0], Eps);
        Assert.Equal(0.05, itl[1], Eps);
        Assert.Equal(0.20, itl[2], Eps);
    }

    [Fact]
    public void A_chunk_of_several_tokens_spreads_its_gap_over_them()
    {
        var r = new RequestRecord { Scenario = "s", Start = 0, End = 0.5, OutputTokens = 5 };
        r.Chunks.Add((0.1, 1));
        r.Chunks.Add((0.4, 4));

        Assert.Equal([0.075, 0.075, 0.075, 0.075], RequestMetrics.Itl(r).Select(x => Math.Round(x, 6)));
        Assert.Equal((0.5 - 0.1) / 4, RequestMetrics.Tpot(r)!.Value, Eps);
    }

    [Fact]
    public void Tpot_uses_the_usage_count_when_chunks_carried_several_tokens_each()
    {
        var r = Streams.Completed(0, [0.1, 0.3], end: 0.3, usageTokens: 5);
        Assert.Equal(0.2 / 4, RequestMetrics.Tpot(r)!.Value, Eps);
        Assert.Equal(5, RequestMetrics.OutputTokens(r));
    }

    [Fact]
    public void One_token_has_no_tpot_and_no_itl()
    {
        var r = Streams.Completed(0, [0.3], end: 0.31);
        Assert.Null(RequestMetrics.Tpot(r));
        Assert.Empty(RequestMetrics.Itl(r));
        Assert.True(r.Completed);
    }

    [Fact]
    public void Errors_and_unfinished_requests_are_not_completed()
    {
        Assert.False(Streams.Failed(0, "http_429").Completed);
        Assert.False(Streams.Failed(0, "stream_broken", 1, [0.1, 0.2]).Completed);
        var cut = Streams.Unfinished(0, [0.1, 0.2]);
        Assert.False(cut.Completed);
        Assert.Null(RequestMetrics.E2e(cut));
        Assert.Null(RequestMetrics.Tpot(cut));
        Assert.False(new RequestRecord { Scenario = "s", Start = 0, End = 1 }.Completed); // ended without a token
    }

    [Fact]
    public void Percentiles_interpolate_between_ranks_like_numpy()
    {
        var d = Distribution.Of(Enumerable.Range(1, 10).Select(i => (double)i));
        Assert.Equal(5.5, d.Mean, Eps);
        Assert.Equal(5.5, d.Median, Eps);
        Assert.Equal(9.1, d.P90, Eps);
        Assert.Equal(9.91, d.P99, Eps);
        Assert.Equal(10, d.Max);
        Assert.Equal(0, Distribution.Of([]).Count);
        Assert.True(double.IsNaN(Distribution.Of([]).Median));
        Assert.Equal(7, Distribution.Of([7]).P99);
    }
}
