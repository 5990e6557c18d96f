namespace InferServe.Metrics.Tests;

/// <summary>Updates happen per generated token: they must be exact under contention and allocation-free.</summary>
public class HotPathTests
{
    private const int Threads = 8;
    private const int PerThread = 100_000;

    [Fact]
    public void ConcurrentCounterIncrements_GiveExactTotals()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h", "k");
        var child = counter.WithLabels("x");

        RunConcurrently(_ => { child.Inc(); counter.WithLabels("x").Inc(2); });

        Assert.Equal(Threads * PerThread * 3.0, child.Value);
    }

    [Fact]
    public void ConcurrentFractionalIncrementsAndGaugeUpdates_AreNotLost()
    {
        var registry = new MetricRegistry();
        var counter = registry.CreateCounter("c", "h");
        var gauge = registry.CreateGauge("g", "h");

        RunConcurrently(_ => { counter.Inc(0.5); gauge.Inc(); gauge.Dec(0.5); });

        Assert.Equal(Threads * PerThread * 0.5, counter.Value);
        Assert.Equal(Threads * PerThread * 0.5, gauge.Value);
    }

    [Fact]
    public void ConcurrentHistogramObservations_GiveExactCountSumAndBuckets()
    {
        var child = new MetricRegistry().CreateHistogram("h", "h", [1, 2, 3], "k").WithLabels("x");

        RunConcurrently(i => child.Observe(i % 4)); // 0,1,2,3 in equal shares; all integers so the sum is exact

        long n = (long)Threads * PerThread;
        Assert.Equal(n, child.Count);
        Assert.Equal(n / 4 * (0 + 1 + 2 + 3), child.Sum);
        Assert.Equal([n / 2, n * 3 / 4, n, n], child.CumulativeCounts());
    }

    [Fact]
    public void ConcurrentChildCreation_YieldsOneChildPerLabelSet()
    {
        var counter = new MetricRegistry().CreateCounter("c", "h", "k");
        var seen = new Counter.Child[Threads];

        Parallel.For(0, Threads, t => { seen[t] = counter.WithLabels("same"); seen[t].Inc(); });

        Assert.All(seen, c => Assert.Same(seen[0], c));
        Assert.Equal(Threads, seen[0].Value);
    }

    [Fact]
    public async Task ScrapingWhileUpdating_IsConsistent()
    {
        var registry = new MetricRegistry();
        var child = registry.CreateHistogram("h", "h", [1], "k").WithLabels("x");
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => { while (!stop.IsCancellationRequested) child.Observe(0.5); }, TestContext.Current.CancellationToken);

        for (int i = 0; i < 200; i++)
        {
            var lines = registry.ToText().Split('\n');
            long inf = long.Parse(lines.Single(l => l.Contains("le=\"+Inf\"")).Split(' ')[1]);
            long count = long.Parse(lines.Single(l => l.StartsWith("h_count", StringComparison.Ordinal)).Split(' ')[1]);
            Assert.Equal(inf, count);
        }
        stop.Cancel();
        await writer;
    }

    [Fact]
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

    [Fact]
    public void ScrapingIntoAReusedBuffer_DoesNotAllocate()
    {
        var (registry, _) = EngineMetricsSample.Create();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 * 1024);

        registry.WriteTo(buffer); // warm up (JIT, buffer growth)
        buffer.ResetWrittenCount();
        long before = GC.GetAllocatedBytesForCurrentThread();
        registry.WriteTo(buffer);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(buffer.WrittenCount > 10_000);
    }

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
