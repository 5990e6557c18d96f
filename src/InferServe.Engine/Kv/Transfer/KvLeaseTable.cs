using System.Diagnostics;

namespace InferServe.Engine.Kv.Transfer;

/// <summary>
/// Blocks a prefill worker keeps for a decode worker to pick up. Each lease holds its own reference on every
/// block, so the prefill sequence can finish and the blocks stay put; a lease ends when it is released, picked
/// up, or expires. A lease being read is never freed under the reader: freeing waits for the read to end.
/// Reads begin and end on any thread without waiting for an engine step; only the pool's reference counts are
/// touched on the engine thread (creation, expiry, and the posted release of an ended lease).
/// </summary>
public sealed class KvLeaseTable(BlockPool pool, TimeSpan leaseTime, Action<Action> onEngineThread)
{
    private sealed class Lease(string id, int[] blocks, long expiresAt)
    {
        public string Id { get; } = id;
        public int[] Blocks { get; } = blocks;
        public long ExpiresAt { get; } = expiresAt;
        public int Readers;
        public bool Ended;
    }

    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly List<Lease> _due = [];
    private readonly Lock _gate = new();
    private long _expired, _released;
    // Written under the lock; read without it so the engine's per-step checks cost no lock while nothing is leased.
    private volatile int _held;

    public int Held => _held;

    public long Expired => Interlocked.Read(ref _expired);
    public long Released => Interlocked.Read(ref _released);
    public TimeSpan LeaseTime { get; } = leaseTime;

    /// <summary>Leases the blocks (engine thread).</summary>
    public string Create(ReadOnlySpan<int> blocks)
    {
        var id = Guid.NewGuid().ToString("N");
        foreach (var b in blocks) pool.AddRef(b);
        var lease = new Lease(id, blocks.ToArray(), Stopwatch.GetTimestamp() + (long)(LeaseTime.TotalSeconds * Stopwatch.Frequency));
        lock (_gate)
        {
            _leases[id] = lease;
            _held = _leases.Count;
        }
        return id;
    }

    /// <summary>Starts a read of a live lease; null when it is unknown, ended or expired. Any thread.</summary>
    public int[]? BeginRead(string id)
    {
        lock (_gate)
        {
            if (!_leases.TryGetValue(id, out var lease) || lease.Ended) return null;
            lease.Readers++;
            return lease.Blocks;
        }
    }

    /// <summary>Ends a read; with <paramref name="release"/> the lease ends too (a completed pickup). Any thread.</summary>
    public void EndRead(string id, bool release)
    {
        int[]? free;
        lock (_gate)
        {
            if (!_leases.TryGetValue(id, out var lease)) return;
            lease.Readers--;
            if (release) End(lease, expired: false);
            free = TakeIfFree(lease);
        }
        Free(free, inline: false);
    }

    /// <summary>Ends a lease (the request was aborted or picked up elsewhere). False when it was not held. Any thread.</summary>
    public bool Release(string id)
    {
        int[]? free;
        lock (_gate)
        {
            if (!_leases.TryGetValue(id, out var lease) || lease.Ended) return false;
            End(lease, expired: false);
            free = TakeIfFree(lease);
        }
        Free(free, inline: false);
        return true;
    }

    /// <summary>Ends every lease past its time (engine thread, between steps).</summary>
    public void ExpireDue()
    {
        if (_held == 0) return;
        lock (_gate)
        {
            long now = Stopwatch.GetTimestamp();
            _due.Clear();
            foreach (var lease in _leases.Values)
                if (!lease.Ended && lease.ExpiresAt <= now) _due.Add(lease);
            foreach (var lease in _due)
            {
                End(lease, expired: true);
                Free(TakeIfFree(lease), inline: true);
            }
        }
    }

    /// <summary>Time until the next lease expires, for the idle engine's wait; infinite with no leases.</summary>
    public TimeSpan NextExpiry()
    {
        if (_held == 0) return Timeout.InfiniteTimeSpan;
        lock (_gate)
        {
            long next = long.MaxValue;
            foreach (var lease in _leases.Values) if (!lease.Ended) next = Math.Min(next, lease.ExpiresAt);
            if (next == long.MaxValue) return Timeout.InfiniteTimeSpan;
            return TimeSpan.FromSeconds(Math.Max(0, (next - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency) + 0.001);
        }
    }

    private void End(Lease lease, bool expired)
    {
        if (lease.Ended) return;
        lease.Ended = true;
        Interlocked.Increment(ref expired ? ref _expired : ref _released);
    }

    private int[]? TakeIfFree(Lease lease)
    {
        if (!lease.Ended || lease.Readers > 0) return null;
        _leases.Remove(lease.Id);
        _held = _leases.Count;
        return lease.Blocks;
    }

    /// <summary>Drops the lease's block references: inline on the engine thread, else posted to it.</summary>
    private void Free(int[]? blocks, bool inline)
    {
        if (blocks is null) return;
        void Release()
        {
            for (int i = blocks.Length - 1; i >= 0; i--) pool.Release(blocks[i]);
        }
        if (inline) Release();
        else onEngineThread(Release);
    }
}
