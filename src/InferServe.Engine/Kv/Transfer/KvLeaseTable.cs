using System.Diagnostics;

namespace InferServe.Engine.Kv.Transfer;

/// <summary>
/// Blocks a prefill worker keeps for a decode worker to pick up. Each lease holds its own reference on every
/// block, so the prefill sequence can finish and the blocks stay put; a lease ends when it is released, picked
/// up, or expires. A lease being read is never freed under the reader: freeing waits for the read to end.
/// Engine thread only.
/// </summary>
public sealed class KvLeaseTable(BlockPool pool, TimeSpan leaseTime)
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

    public int Held => _leases.Count;
    public long Expired { get; private set; }
    public long Released { get; private set; }
    public TimeSpan LeaseTime { get; } = leaseTime;
    public event Action<string>? LeaseExpired;

    public string Create(ReadOnlySpan<int> blocks)
    {
        var id = Guid.NewGuid().ToString("N");
        foreach (var b in blocks) pool.AddRef(b);
        _leases[id] = new Lease(id, blocks.ToArray(), Stopwatch.GetTimestamp() + (long)(LeaseTime.TotalSeconds * Stopwatch.Frequency));
        return id;
    }

    /// <summary>Starts a read of a live lease; null when it is unknown, ended or expired.</summary>
    public int[]? BeginRead(string id)
    {
        if (!_leases.TryGetValue(id, out var lease) || lease.Ended) return null;
        lease.Readers++;
        return lease.Blocks;
    }

    /// <summary>Ends a read; with <paramref name="release"/> the lease ends too (a completed pickup).</summary>
    public void EndRead(string id, bool release)
    {
        if (!_leases.TryGetValue(id, out var lease)) return;
        lease.Readers--;
        if (release) End(lease, expired: false);
        else TryFree(lease);
    }

    /// <summary>Ends a lease (the request was aborted or picked up elsewhere). False when it was not held.</summary>
    public bool Release(string id)
    {
        if (!_leases.TryGetValue(id, out var lease) || lease.Ended) return false;
        End(lease, expired: false);
        return true;
    }

    /// <summary>Ends every lease past its time; the engine calls it between steps.</summary>
    public void ExpireDue()
    {
        if (_leases.Count == 0) return;
        long now = Stopwatch.GetTimestamp();
        _due.Clear();
        foreach (var lease in _leases.Values)
            if (!lease.Ended && lease.ExpiresAt <= now) _due.Add(lease);
        foreach (var lease in _due)
        {
            End(lease, expired: true);
            LeaseExpired?.Invoke(lease.Id);
        }
    }

    /// <summary>Time until the next lease expires, for the idle engine's wait; infinite with no leases.</summary>
    public TimeSpan NextExpiry()
    {
        if (_leases.Count == 0) return Timeout.InfiniteTimeSpan;
        long next = long.MaxValue;
        foreach (var lease in _leases.Values) if (!lease.Ended) next = Math.Min(next, lease.ExpiresAt);
        if (next == long.MaxValue) return TimeSpan.FromMilliseconds(50);
        return TimeSpan.FromSeconds(Math.Max(0, (next - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency) + 0.001);
    }

    private void End(Lease lease, bool expired)
    {
        if (!lease.Ended)
        {
            lease.Ended = true;
            if (expired) Expired++;
            else Released++;
        }
        TryFree(lease);
    }

    private void TryFree(Lease lease)
    {
        if (!lease.Ended || lease.Readers > 0) return;
        _leases.Remove(lease.Id);
        for (int i = lease.Blocks.Length - 1; i >= 0; i--) pool.Release(lease.Blocks[i]);
    }
}
