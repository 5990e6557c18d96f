using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;

namespace InferServe.Engine.Tests.Kv;

/// <summary>
/// The blocks a prefill worker keeps for a decode worker: a lease holds its own reference on every block, ends on
/// release, pickup or expiry, is never freed under a reader, and leaves every block free once it has ended.
/// The engine thread is the test itself: what the table posts to it runs when the test drains <see cref="_engineThread"/>.
/// </summary>
public sealed class KvLeaseTableTests
{
    private const int Blocks = 8;
    private readonly BlockPool _pool = new(Blocks);
    private readonly Queue<Action> _engineThread = new();

    private KvLeaseTable Table(TimeSpan leaseTime) => new(_pool, leaseTime, _engineThread.Enqueue);

    /// <summary>What the engine loop does between steps: runs the work posted to it.</summary>
    private void RunEngineThread()
    {
        while (_engineThread.TryDequeue(out var work)) work();
    }

    /// <summary>A finished prefill's blocks, leased: its sequence allocates them, leases them, then lets go of them.</summary>
    private (string Lease, int[] Blocks) Leased(KvLeaseTable table, int count)
    {
        var blocks = new int[count];
        for (int i = 0; i < count; i++) Assert.True(_pool.TryAllocate(out blocks[i]));
        string lease = table.Create(blocks);
        foreach (var b in blocks) _pool.Release(b); // the prefill sequence finishes
        return (lease, blocks);
    }

    private void AssertNoBlockHeld() => Assert.Equal(Blocks, _pool.FreeCount);

    [Fact(Timeout = 10_000)]
    public void A_lease_keeps_its_blocks_after_the_prefill_sequence_lets_go()
    {
        var table = Table(TimeSpan.FromHours(1));
        var (lease, blocks) = Leased(table, 3);

        Assert.Equal(1, table.Held);
        Assert.Equal(Blocks - 3, _pool.FreeCount);
        Assert.All(blocks, b => Assert.Equal(1, _pool.RefCount(b)));
        Assert.Equal(blocks, table.BeginRead(lease));
        table.EndRead(lease, release: false);
    }

    [Fact(Timeout = 10_000)]
    public void Released_lease_frees_its_blocks_on_the_engine_thread_and_cannot_be_read_or_released_again()
    {
        var table = Table(TimeSpan.FromHours(1));
        var (lease, _) = Leased(table, 3);

        Assert.True(table.Release(lease));
        Assert.Equal(0, table.Held);
        Assert.Null(table.BeginRead(lease));
        Assert.False(table.Release(lease));
        Assert.Equal(Blocks - 3, _pool.FreeCount); // the pool is the engine thread's: nothing freed from here
        RunEngineThread();
        AssertNoBlockHeld();
        Assert.Equal(1, table.Released);
        Assert.Equal(0, table.Expired);
    }

    [Fact(Timeout = 10_000)]
    public void A_completed_pickup_ends_the_lease_and_frees_its_blocks()
    {
        var table = Table(TimeSpan.FromHours(1));
        var (lease, blocks) = Leased(table, 2);

        Assert.Equal(blocks, table.BeginRead(lease));
        table.EndRead(lease, release: true);
        RunEngineThread();

        Assert.Null(table.BeginRead(lease));
        Assert.Equal(0, table.Held);
        Assert.Equal(1, table.Released);
        AssertNoBlockHeld();
    }

    [Fact(Timeout = 10_000)]
    public void A_lease_being_read_is_not_freed_under_the_reader_but_once_the_read_ends()
    {
        var table = Table(TimeSpan.FromHours(1));
        var (lease, _) = Leased(table, 4);

        Assert.NotNull(table.BeginRead(lease));
        Assert.True(table.Release(lease)); // e.g. the request was aborted mid-transfer
        RunEngineThread();
        Assert.Equal(Blocks - 4, _pool.FreeCount);
        Assert.Null(table.BeginRead(lease)); // ended: no new reader

        table.EndRead(lease, release: false);
        RunEngineThread();
        AssertNoBlockHeld();
        Assert.Equal(0, table.Held);
    }

    [Fact(Timeout = 10_000)]
    public void An_expired_lease_is_freed_at_the_next_expiry_check_and_counted_as_expired()
    {
        var table = Table(TimeSpan.Zero); // due as soon as it is made
        var (lease, _) = Leased(table, 3);

        table.ExpireDue(); // engine thread: frees inline
        Assert.Null(table.BeginRead(lease));
        Assert.False(table.Release(lease));
        Assert.Equal(1, table.Expired);
        Assert.Equal(0, table.Released);
        Assert.Equal(0, table.Held);
        AssertNoBlockHeld();
    }

    [Fact(Timeout = 10_000)]
    public void An_expired_lease_being_read_is_freed_when_the_read_ends()
    {
        var table = Table(TimeSpan.Zero);
        var (lease, _) = Leased(table, 2);

        Assert.NotNull(table.BeginRead(lease));
        table.ExpireDue();
        Assert.Equal(1, table.Expired);
        Assert.Equal(Blocks - 2, _pool.FreeCount);

        table.EndRead(lease, release: true); // a pickup that finished late does not count as a release too
        RunEngineThread();
        Assert.Equal(0, table.Released);
        AssertNoBlockHeld();
    }

    [Fact(Timeout = 10_000)]
    public void A_live_lease_is_not_expired_early_and_tells_the_idle_engine_when_to_wake()
    {
        var table = Table(TimeSpan.FromHours(1));
        Assert.Equal(Timeout.InfiniteTimeSpan, table.NextExpiry());
        var (lease, _) = Leased(table, 1);

        table.ExpireDue();
        Assert.Equal(1, table.Held);
        Assert.Equal(0, table.Expired);
        var next = table.NextExpiry();
        Assert.InRange(next, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));

        Assert.True(table.Release(lease));
        RunEngineThread();
        Assert.Equal(Timeout.InfiniteTimeSpan, table.NextExpiry());
        AssertNoBlockHeld();
    }

    [Fact(Timeout = 10_000)]
    public void Leases_over_shared_blocks_each_hold_a_reference_and_the_last_one_frees_them()
    {
        var table = Table(TimeSpan.FromHours(1));
        var (first, blocks) = Leased(table, 2);
        var second = table.Create(blocks); // another request prefilled the same cached prefix
        Assert.All(blocks, b => Assert.Equal(2, _pool.RefCount(b)));

        Assert.True(table.Release(first));
        RunEngineThread();
        Assert.Equal(Blocks - 2, _pool.FreeCount);
        Assert.Equal(1, table.Held);
        Assert.True(table.Release(second));
        RunEngineThread();
        AssertNoBlockHeld();
        Assert.Equal(2, table.Released);
    }

    [Fact(Timeout = 10_000)]
    public void Unknown_leases_are_neither_read_nor_released()
    {
        var table = Table(TimeSpan.FromHours(1));
        Assert.Null(table.BeginRead("no-such-lease"));
        Assert.False(table.Release("no-such-lease"));
        table.EndRead("no-such-lease", release: true);
        RunEngineThread();
        Assert.Equal(0, table.Released);
        AssertNoBlockHeld();
    }
}
