using System.Buffers;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using InferServe.Engine;
using InferServe.Engine.Api;
using InferServe.Engine.Hosting;
using InferServe.Transport;
using InferServe.Transport.V1;

namespace InferServe.Workers;

/// <summary>
/// Handlers of <c>inferserve.worker.v1.Worker</c> over the local engine. Every engine request is tied to its call's
/// cancellation, so a gateway that goes away (client disconnect, abort) frees the worker's KV within a step.
/// </summary>
public sealed class WorkerService(ModelHost host, WorkerOptions options, WorkerMetrics metrics, BlockEventLog blocks, KvPuller puller) : Worker.WorkerBase
{
    private volatile bool _draining;

    /// <summary>Set on SIGTERM: new prefills and decodes are refused; running ones finish.</summary>
    public void Drain() => _draining = true;
    public bool Draining => _draining;

    public override Task<WorkerInfo> GetInfo(InfoRequest request, ServerCallContext context) => Task.FromResult(Info());

    /// <summary>This worker's identity and KV layout, for the gateway's compatibility check.</summary>
    public WorkerInfo Info()
    {
        var engine = RequireEngine();
        var f = engine.Facts;
        var kv = engine.KvSpec;
        var info = new WorkerInfo
        {
            Role = options.Role, ModelFingerprint = engine.CacheSaltBase, KvDtype = options.KvDtype, BlockSize = kv.BlockSize, Weights = options.Weights,
            Architecture = f.Architecture, VocabSize = f.VocabSize, MaxContext = f.MaxContext, TotalBlocks = f.KvTotalBlocks, MaxSeqs = f.MaxSeqs,
            NumLayers = kv.NumLayers, NumKvHeads = kv.NumKvHeads, HeadDim = kv.HeadDim, ServedModelName = options.ServedModelName,
        };
        if (f.BosTokenId is { } bos) info.BosTokenId = bos;
        info.EosTokenIds.AddRange(f.EosTokenIds);
        return info;
    }

    public override async Task Watch(WatchRequest request, IServerStreamWriter<WorkerStatus> responses, ServerCallContext context)
    {
        var engine = RequireEngine();
        var ct = context.CancellationToken;
        var interval = TimeSpan.FromMilliseconds(Math.Clamp(request.IntervalMs <= 0 ? 500 : request.IntervalMs, 20, 10_000));
        using var subscription = blocks.Subscribe();
        var status = Snapshot(engine);
        status.Snapshot = true;
        foreach (var hash in await engine.CachedBlocksAsync().ConfigureAwait(false)) WireMapping.AddHash(status.Stored, hash);
        while (true)
        {
            await responses.WriteAsync(status, ct).ConfigureAwait(false);
            if (_draining) return;
            await Task.Delay(interval, ct).ConfigureAwait(false);
            status = Snapshot(engine);
            while (subscription.TryRead(out var hash, out bool stored)) WireMapping.AddHash(stored ? status.Stored : status.Evicted, hash);
        }
    }

    private WorkerStatus Snapshot(LlmEngine engine)
    {
        var s = engine.Stats;
        return new WorkerStatus
        {
            Running = s.Running, Waiting = s.Waiting, FreeBlocks = s.FreeBlocks, TotalBlocks = s.TotalBlocks, LeasesHeld = engine.Leases.Held, Draining = _draining,
        };
    }

    public override async Task<PrefillResponse> Prefill(PrefillRequest request, ServerCallContext context)
    {
        var engine = RequireAcceptingEngine();
        var ct = context.CancellationToken;
        var spec = WireMapping.FromWire(request.Request ?? throw Fail(StatusCode.InvalidArgument, "request is required."));
        var (handle, result) = Submit(() => engine.SubmitPrefill(spec, ct));
        var response = new PrefillResponse();
        await using (handle)
        {
            await foreach (var e in handle.ReadAllAsync(ct).ConfigureAwait(false))
            {
                CheckFinish(e.Finish, ct);
                response.Events.Add(WireMapping.ToWire(e));
            }
        }
        PrefillResult prefill;
        try
        {
            prefill = await result.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ct.ThrowIfCancellationRequested();
            throw Fail(StatusCode.Internal, "The prefill ended without a first token.");
        }
        if (ct.IsCancellationRequested && prefill.LeaseId is { } orphan)
        {
            // Nobody will pick these blocks up: free them now rather than at lease expiry.
            engine.ReleaseLease(orphan);
            ct.ThrowIfCancellationRequested();
        }
        response.First.AddRange(prefill.Choices.Select(WireMapping.ToWire));
        response.LeaseId = prefill.LeaseId ?? "";
        response.PromptTokens = prefill.PromptTokens;
        response.CachedTokens = prefill.CachedTokens;
        response.Blocks = prefill.Blocks;
        return response;
    }

    public override async Task PullKv(PullKvRequest request, IServerStreamWriter<KvChunk> responses, ServerCallContext context)
    {
        var engine = RequireEngine();
        var ct = context.CancellationToken;
        var spans = engine.BeginLeaseRead(request.LeaseId)
            ?? throw Fail(StatusCode.NotFound, $"KV lease '{request.LeaseId}' is unknown, released or expired.");
        var started = Stopwatch.GetTimestamp();
        bool complete = false;
        long bytes = 0;
        int perChunk = Math.Max(1, WorkerMethods.MaxChunkBytes / spans.BlockBytes);
        if (request.MaxChunkBlocks > 0) perChunk = Math.Min(perChunk, request.MaxChunkBlocks);
        var buffer = ArrayPool<byte>.Shared.Rent(perChunk * spans.BlockBytes);
        string dtype = spans.DType.ToString().ToLowerInvariant();
        try
        {
            for (int first = 0; first < spans.BlockCount; first += perChunk)
            {
                int n = Math.Min(perChunk, spans.BlockCount - first);
                int length = n * spans.BlockBytes;
                spans.Read(first, n, buffer.AsSpan(0, length));
                // The writer serializes the chunk before WriteAsync returns, so wrapping the pooled buffer is safe and saves a copy.
                await responses.WriteAsync(new KvChunk
                {
                    FirstBlock = first, NumBlocks = n, TotalBlocks = spans.BlockCount, KvDtype = dtype,
                    Data = UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, length)),
                }, ct).ConfigureAwait(false);
                bytes += length;
            }
            complete = true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            // A finished pickup ends the lease; a broken one leaves it for a retry or for expiry.
            engine.EndLeaseRead(request.LeaseId, release: complete);
        }
        metrics.Sent(bytes, spans.BlockCount, Stopwatch.GetElapsedTime(started));
    }

    public override Task<ReleaseKvResponse> ReleaseKv(ReleaseKvRequest request, ServerCallContext context) =>
        Task.FromResult(new ReleaseKvResponse { Released = RequireEngine().ReleaseLease(request.LeaseId) });

    public override async Task Decode(DecodeRequest request, IServerStreamWriter<TokenEvent> responses, ServerCallContext context)
    {
        var engine = RequireAcceptingEngine();
        var ct = context.CancellationToken;
        var spec = WireMapping.FromWire(request.Request ?? throw Fail(StatusCode.InvalidArgument, "request is required."));
        GenerationHandle handle;
        if (request.First.Count == 0)
        {
            handle = Submit(() => engine.Submit(spec, ct));
        }
        else
        {
            var prefill = new ImportedPrefill(request.CachedTokens, [.. request.First.Select(WireMapping.FromWire)]);
            string source = request.KvSource, lease = request.LeaseId;
            int expected = request.Blocks;
            handle = Submit(() => engine.SubmitImported(spec, prefill,
                source.Length == 0 ? null : (spans, token) => puller.PullAsync(source, lease, expected, spans, token), ct));
        }
        await using (handle)
        {
            await foreach (var e in handle.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (e.Finish == FinishReason.Abort) CheckFinish(e.Finish, ct);
                await responses.WriteAsync(WireMapping.ToWire(e), ct).ConfigureAwait(false);
            }
        }
    }

    private LlmEngine RequireEngine() =>
        host.Current?.LocalEngine() ?? throw Fail(StatusCode.Unavailable,
            host.LoadError is null ? "The worker's model is still loading." : "The worker's model failed to load; see its log.");

    private LlmEngine RequireAcceptingEngine()
    {
        var engine = RequireEngine();
        if (_draining) throw Fail(StatusCode.Unavailable, "The worker is draining (shutting down); send new work elsewhere.");
        return engine;
    }

    private static T Submit<T>(Func<T> submit)
    {
        try
        {
            return submit();
        }
        catch (InvalidRequestException e)
        {
            throw Fail(StatusCode.InvalidArgument, e.Message);
        }
        catch (EngineOverloadedException e)
        {
            throw Fail(StatusCode.ResourceExhausted, e.Message);
        }
    }

    private static void CheckFinish(FinishReason? finish, CancellationToken ct)
    {
        if (finish == FinishReason.Error) throw Fail(StatusCode.Internal, "The worker's engine failed on this request.");
        if (finish != FinishReason.Abort) return;
        ct.ThrowIfCancellationRequested();
        throw Fail(StatusCode.Unavailable, "The request was aborted because the worker is shutting down.");
    }

    private static RpcException Fail(StatusCode code, string detail) => new(new Grpc.Core.Status(code, detail));
}
