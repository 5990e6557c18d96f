using InferServe.Contracts;
using InferServe.Transport;
using InferServe.Transport.V1;

namespace InferServe.Router.Tests;

/// <summary>A worker as the gateway tracks it: requests in flight, waiting requests, and the prefix blocks it holds.</summary>
public sealed class WorkerEndpointTests : IDisposable
{
    private readonly WorkerEndpoint _worker = new("http://127.0.0.1:9/", WorkerRole.Decode);

    [Fact]
    public void Load_counts_tracked_requests_once_each_plus_what_the_worker_reports_waiting()
    {
        var first = _worker.Track();
        var second = _worker.Track();
        Assert.Equal(2, _worker.Load);
        first.Dispose();
        first.Dispose(); // a second dispose must not free another request's slot
        Assert.Equal(1, _worker.Load);
        _worker.Status = new WorkerStatus { Waiting = 3 };
        Assert.Equal(4, _worker.Load);
        second.Dispose();
        Assert.Equal(3, _worker.Load);
    }

    [Fact]
    public void Heartbeats_add_and_evict_blocks_and_a_snapshot_replaces_them()
    {
        var salt = BlockHash.Salt("s");
        var h1 = BlockHash.Of(salt, [1, 2], salt);
        var h2 = BlockHash.Of(h1, [3, 4], salt);
        var h3 = BlockHash.Of(h2, [5, 6], salt);

        _worker.ApplyBlocks(Status(snapshot: true, stored: [h1, h2, h3]));
        Assert.Equal(3, _worker.MatchedBlocks([h1, h2, h3]));
        _worker.ApplyBlocks(Status(snapshot: false, evicted: [h2]));
        Assert.Equal(1, _worker.MatchedBlocks([h1, h2, h3])); // the run stops at the evicted block
        _worker.ApplyBlocks(Status(snapshot: true, stored: [h2]));
        Assert.Equal(0, _worker.MatchedBlocks([h1, h2]));
        _worker.ForgetBlocks();
        Assert.Equal(0, _worker.MatchedBlocks([h2]));
    }

    [Fact]
    public void Its_address_loses_a_trailing_slash_and_it_names_its_role()
    {
        Assert.Equal("http://127.0.0.1:9", _worker.Address);
        Assert.Equal("decode worker http://127.0.0.1:9", _worker.ToString());
    }

    private static WorkerStatus Status(bool snapshot, BlockHash[]? stored = null, BlockHash[]? evicted = null)
    {
        var status = new WorkerStatus { Snapshot = snapshot };
        foreach (var h in stored ?? []) WireMapping.AddHash(status.Stored, h);
        foreach (var h in evicted ?? []) WireMapping.AddHash(status.Evicted, h);
        return status;
    }

    public void Dispose() => _worker.Dispose();
}
