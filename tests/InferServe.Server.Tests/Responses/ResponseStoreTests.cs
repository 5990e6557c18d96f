using InferServe.Metrics;
using InferServe.Server.Responses;

namespace InferServe.Server.Tests.Responses;

/// <summary>The store behind store: true is bounded by entries and by age, and reports both on /metrics.</summary>
public sealed class ResponseStoreTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static (ResponseStore Store, ManualClock Clock, MetricRegistry Registry) Create(int entries, int ttl, string memory = "1MiB")
    {
        var clock = new ManualClock();
        var registry = new MetricRegistry();
        return (new ResponseStore(new ResponseStoreOptions { MaxEntries = entries, TtlSeconds = ttl, MaxMemory = memory }, clock, registry), clock, registry);
    }

    private static double Metric(MetricRegistry registry, string name) =>
        double.Parse(registry.ToText().Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    [Fact(Timeout = 10_000)]
    public void Past_its_size_the_oldest_response_is_evicted_and_counted()
    {
        var (store, _, registry) = Create(entries: 2, ttl: 60);
        foreach (var id in new[] { "a", "b", "c" }) store.Add(id, [1], "[]");
        Assert.Null(store.Get("a"));
        Assert.NotNull(store.Get("b"));
        Assert.NotNull(store.Get("c"));
        Assert.Equal(2, Metric(registry, "inferserve_response_store_entries"));
        Assert.Equal(1, Metric(registry, "inferserve_response_store_evictions_total"));
    }

    [Fact(Timeout = 10_000)]
    public void A_response_older_than_the_ttl_is_gone()
    {
        var (store, clock, registry) = Create(entries: 10, ttl: 60);
        store.Add("old", [1], "[]");
        clock.Now += TimeSpan.FromSeconds(30);
        store.Add("new", [1], "[]");
        clock.Now += TimeSpan.FromSeconds(31);
        Assert.Null(store.Get("old"));
        Assert.NotNull(store.Get("new"));
        Assert.Equal(1, Metric(registry, "inferserve_response_store_evictions_total"));
        Assert.True(store.Remove("new"));
        Assert.False(store.Remove("new"));
        Assert.Equal(0, store.Count);
    }

    [Fact(Timeout = 10_000)]
    public void Past_its_memory_the_oldest_responses_are_evicted_and_one_too_large_is_not_kept()
    {
        var (store, _, registry) = Create(entries: 100, ttl: 60, memory: "1000");
        store.Add("a", new byte[400], "[]");
        store.Add("b", new byte[400], "[]");
        store.Add("c", new byte[400], "[]"); // 1,212 bytes in all: "a" goes
        Assert.Null(store.Get("a"));
        Assert.Equal(2, store.Count);
        store.Add("huge", new byte[2000], "[]");
        Assert.Null(store.Get("huge"));
        Assert.NotNull(store.Get("c"));
        Assert.Equal(1, Metric(registry, "inferserve_response_store_evictions_total"));
    }

    [Fact(Timeout = 10_000)]
    public void A_size_of_zero_stores_nothing()
    {
        var (store, _, _) = Create(entries: 0, ttl: 60);
        store.Add("a", [1], "[]");
        Assert.Null(store.Get("a"));
    }
}
