using InferServe.Contracts;
using InferServe.Transport;
using InferServe.Transport.V1;

namespace InferServe.Router;

public enum WorkerRole { Prefill, Decode }

/// <summary>One worker as the gateway sees it: address, identity, health, load and the prefix blocks it holds.</summary>
/// <param name="client">The worker-link credentials (client certificate, CA, token) its calls carry.</param>
public sealed class WorkerEndpoint(string address, WorkerRole role, WorkerLinkOptions? client = null) : IDisposable
{
    private readonly HashSet<BlockHash> _blocks = [];
    private readonly Lock _gate = new();
    private int _inFlight;

    public string Address { get; } = address.TrimEnd('/');
    public WorkerRole Role { get; } = role;
    /// <summary>The one channel to this worker, reused by every call.</summary>
    public WorkerChannel Channel { get; } = new(address.TrimEnd('/'), client);
    public Worker.WorkerClient Client => Channel.Worker;
    public WorkerInfo? Info { get; internal set; }
    public volatile bool Healthy;
    /// <summary>Why the worker is not used, for /ready and the log.</summary>
    public string? Problem { get; internal set; }
    public WorkerStatus? Status { get; internal set; }

    /// <summary>Requests this gateway has outstanding on the worker: load known before the next heartbeat.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);
    public int Load => InFlight + (Status is { } s ? s.Waiting : 0);

    public IDisposable Track()
    {
        Interlocked.Increment(ref _inFlight);
        return new Release(this);
    }

    private sealed class Release(WorkerEndpoint worker) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Interlocked.Decrement(ref worker._inFlight);
        }
    }

    /// <summary>Leading prompt blocks (by chained hash) this worker has cached.</summary>
    public int MatchedBlocks(IReadOnlyList<BlockHash> prefix)
    {
        lock (_gate)
        {
            int n = 0;
            while (n < prefix.Count && _blocks.Contains(prefix[n])) n++;
            return n;
        }
    }

    internal void ApplyBlocks(WorkerStatus status)
    {
        lock (_gate)
        {
            if (status.Snapshot) _blocks.Clear();
            foreach (var h in Transport.WireMapping.Hashes(status.Stored)) _blocks.Add(h);
            foreach (var h in Transport.WireMapping.Hashes(status.Evicted)) _blocks.Remove(h);
        }
    }

    /// <summary>Blocks a prefill just computed here: known before the worker's next heartbeat reports them.</summary>
    internal void AddRouted(IReadOnlyList<BlockHash> blocks)
    {
        lock (_gate) foreach (var b in blocks) _blocks.Add(b);
    }

    internal void ForgetBlocks()
    {
        lock (_gate) _blocks.Clear();
    }

    public override string ToString() => $"{Role.ToString().ToLowerInvariant()} worker {Address}";

    public void Dispose() => Channel.Dispose();
}
