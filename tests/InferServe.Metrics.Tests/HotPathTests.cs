namespace InferServe.Metrics.Tests;

/// <summary>Updates happen per generated token: through the facade and prometheus-net they must be exact under contention and allocation-free.</summary>
public class HotPathTests
{
    private const int Threads = 8;
    private const int PerThread = 100_000;

    [Fact(Timeout = 60_000)]
    public void ConcurrentCounterIncrements_GiveExactTotals()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h", "k");
        var child = counter.WithLabels("x");

        RunConcurrently(_ => { child.Inc(); counter.WithLabels("x").Inc(2); });

        Assert.Equal(Threads * PerThread * 3.0, child.Value);
    }

    [Fact(Timeout = 60_000)]
    public void ConcurrentFractionalIncrementsAndGaugeUpdates_AreNotLost()
    {
        var registry = new MetricRegistry();
        var counter = registry.CreateCounter("c", "h");
        var gauge = registry.CreateGauge("g", "h");

        RunConcurrently(_ => { counter.Inc(0.5); gauge.Inc(); gauge.Dec(0.5); });

        Assert.Equal(Threads * PerThread * 0.5, counter.Value);
        Assert.Equal(Threads * PerThread * 0.5, gauge.Value);
    }

    [Fact(Timeout = 60_000)]
    public void ConcurrentHistogramObservations_GiveExactCountSumAndBuckets()
    {
        var registry = new MetricRegistry();
        var child = registry.CreateHistogram("h", "h", [1, 2, 3], "k").WithLabels("x");

        RunConcurrently(i => child.Observe(i % 4)); // 0,1,2,3 in equal shares; all integers so the sum is exact

        long n = (long)Threads * PerThread;
        Assert.Equal(n, child.Count);
        Assert.Equal(n / 4 * (0 + 1 + 2 + 3), child.Sum);
        Assert.Equal([n / 2, n * 3 / 4, n, n], BucketCounts(registry.ToText(), "h_bucket"));
    }

    [Fact(Timeout = 60_000)]
    public void ConcurrentChildCreation_YieldsOneChildPerLabelSet()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h", "k");
        var seen = new Counter.Child[Threads];

        Parallel.For(0, Threads, t => { seen[t] = counter.WithLabels("same"); seen[t].Inc(); });

        Assert.All(seen, c => Assert.Same(seen[0], c));
        Assert.Equal(Threads, seen[0].Value);
    }

    /// <summary>
    /// prometheus-net reads _count before the buckets, so a scrape racing with observations may show a few more in
    /// the buckets than in _count, never fewer; the buckets themselves stay cumulative.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task ScrapingWhileUpdating_GivesCumulativeBucketsCoveringTheCount()
    {
        var registry = new MetricRegistry();
        var child = registry.CreateHistogram("h", "h", [1], "k").WithLabels("x");
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => { while (!stop.IsCancellationRequested) child.Observe(0.5); }, TestContext.Current.CancellationToken);

        for (int i = 0; i < 200; i++)
        {
            string text = registry.ToText();
            var buckets = BucketCounts(text, "h_bucket");
            long count = BucketCounts(text, "h_count").Single();
            Assert.True(buckets[0] <= buckets[1] && count <= buckets[1], text);
        }
        stop.Cancel();
        await writer;
    }

    [Fact(Timeout = 60_000)]
    public void CachedChildUpdates_DoNotAllocate()
    {
        var registry = new MetricRegistry();
        var counter = registry.CreateCounter("c", "h", "k").WithLabels("x");
        var gauge = registry.CreateGauge("g", "h", "k").WithLabels("x");
        var histogram = registry.CreateHistogram("h", "h", EngineMetricBuckets.TimeToFirstTokenSeconds, "k").WithLabels("x");
        var engine = new EngineMetrics(registry, "m");

        void Work()
        {
            for (int i = 0; i < 10_000; i++)
            {
                counter.Inc();
                counter.Inc(0.25);
                gauge.Set(i);
                gauge.Inc();
                histogram.Observe(i * 0.001);
                engine.RecordTokens(1, 1);
                engine.RecordInterTokenLatency(TimeSpan.FromMilliseconds(i % 50));
                engine.RequestFinished(FinishedReason.Stop, TimeSpan.FromSeconds(1), 10, 20);
            }
        }

        Work(); // warm up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        Work();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>The values of the samples of one series name (e.g. "h_bucket"), in exposition order.</summary>
    private static long[] BucketCounts(string text, string series) =>
        [.. text.Split('\n').Where(l => l.StartsWith(series + "{", StringComparison.Ordinal)).Select(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..]))];

    private static void RunConcurrently(Action<int> body)
    {
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < PerThread; i++) body(i);
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
    }
}
