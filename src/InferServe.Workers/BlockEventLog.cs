using System.Collections.Concurrent;
using InferServe.Contracts;

namespace InferServe.Workers;

/// <summary>
/// Fans the engine's prefix-cache block events out to Watch streams. The engine thread only enqueues; each
/// subscriber drains its own queue once per heartbeat.
/// </summary>
public sealed class BlockEventLog
{
    public sealed class Subscription(BlockEventLog log) : IDisposable
    {
        internal readonly ConcurrentQueue<(BlockHash Hash, bool Stored)> Queue = new();

        public bool TryRead(out BlockHash hash, out bool stored)
        {
            bool ok = Queue.TryDequeue(out var item);
            (hash, stored) = item;
            return ok;
        }

        public void Dispose() => log.Remove(this);
    }

    private volatile Subscription[] _subscribers = [];
    private readonly Lock _gate = new();

    /// <summary>The engine's handler (engine thread).</summary>
    public void OnBlockEvent(BlockHash hash, bool stored)
    {
        foreach (var s in _subscribers) s.Queue.Enqueue((hash, stored));
    }

    public Subscription Subscribe()
    {
        var s = new Subscription(this);
        lock (_gate) _subscribers = [.. _subscribers, s];
        return s;
    }

    private void Remove(Subscription s)
    {
        lock (_gate) _subscribers = [.. _subscribers.Where(x => x != s)];
    }
}
