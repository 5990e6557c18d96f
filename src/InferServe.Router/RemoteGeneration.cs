using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpc.Core;
using InferServe.Contracts;
using InferServe.Router.Routing;
using InferServe.Transport;
using InferServe.Transport.V1;
using Microsoft.Extensions.Logging;

namespace InferServe.Router;

/// <summary>
/// One request through the gateway: prefill on a prefill worker (retried on another, or left to the decode worker,
/// when one fails), the first tokens to the client at once, then decode on a decode worker that pulls the KV from
/// the prefill worker. A decode worker lost mid-stream ends the unfinished choices with an error event; an abort
/// cancels both workers' calls and releases the KV lease.
/// </summary>
internal sealed class RemoteGeneration(RemoteGenerationService service, GenerationRequest request, Action onDone) : IGenerationStream
{
    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(5);
    private readonly Channel<GenerationEvent> _events = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _abort = new();
    private readonly bool[] _finished = new bool[request.N];
    private CancellationTokenRegistration _registration;
    private GenerationUsage _usage = new(request.PromptTokens.Count, 0, 0);
    private bool _emitted;
    private (WorkerEndpoint Worker, string Lease)? _lease;

    public string RequestId => request.RequestId;

    public void Start(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled) _registration = cancellationToken.Register(Abort);
        _ = Task.Run(RunAsync);
    }

    public async IAsyncEnumerable<GenerationEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = _events.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var e))
                yield return e;
        }
    }

    public void Abort()
    {
        try { _abort.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public ValueTask DisposeAsync()
    {
        _registration.Dispose();
        Abort();
        return ValueTask.CompletedTask;
    }

    private async Task RunAsync()
    {
        var ct = _abort.Token;
        try
        {
            await RouteAsync(ct).ConfigureAwait(false);
            _events.Writer.TryComplete();
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            EndUnfinished(FinishReason.Abort);
            _events.Writer.TryComplete();
        }
        catch (Exception e) when (!_emitted)
        {
            _events.Writer.TryComplete(Translate(e));
        }
        catch (Exception e)
        {
            service.Log.LogWarning("Request {RequestId} failed mid-stream: {Error}", request.RequestId, Describe(e));
            EndUnfinished(FinishReason.Error, e is WorkerLostException or ServiceUnavailableException ? e.Message
                : $"The workers failed while generating this request ({Describe(e)}).");
            _events.Writer.TryComplete();
        }
        finally
        {
            if (_lease is { } lease) _ = ReleaseAsync(lease.Worker, lease.Lease);
            onDone();
        }
    }

    private async Task RouteAsync(CancellationToken ct)
    {
        var wire = WireMapping.ToWire(request);
        var workers = service.Workers;
        bool remote = workers.Prefill.Count > 0 && request.PromptTokens.Count >= service.Options.RemotePrefillMinTokens;
        if (!remote)
        {
            await DecodeAsync(wire, null, null, "short_prompt", ct).ConfigureAwait(false);
            return;
        }
        var reference = workers.Reference!;
        var blocks = PrefixHasher.LookupBlocks(reference.ModelFingerprint, request.CacheSalt, reference.BlockSize, request.PromptTokens);
        var policy = service.PrefillPolicy;
        var tried = new HashSet<WorkerEndpoint>();
        int full = 0;
        while (true)
        {
            var candidates = workers.Healthy(WorkerRole.Prefill).Where(w => !tried.Contains(w)).ToList();
            if (candidates.Count == 0) break;
            var decision = policy.Choose(candidates, new RoutingRequest(blocks));
            service.Metrics.Decision(policy.Name, WorkerRole.Prefill, decision.Reason);
            var worker = decision.Worker;
            tried.Add(worker);
            PrefillResponse prefill;
            try
            {
                using (worker.Track())
                {
                    prefill = await worker.Client.PrefillAsync(new PrefillRequest { Request = wire }, cancellationToken: ct)
                        .ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested && Retryable(e))
            {
                if (IsFull(e))
                {
                    full++;
                    continue;
                }
                service.Log.LogWarning("Prefill of {RequestId} on {Worker} failed ({Error}); trying elsewhere", request.RequestId, worker, Describe(e));
                if (IsConnectionLoss(e)) workers.MarkDown(worker, Describe(e));
                service.Metrics.Failover(WorkerRole.Prefill, "retry");
                continue;
            }
            worker.AddRouted(blocks);
            if (prefill.LeaseId.Length > 0) _lease = (worker, prefill.LeaseId);
            foreach (var e in prefill.Events) Emit(WireMapping.FromWire(e));
            if (prefill.LeaseId.Length == 0) return; // every choice finished with its first token
            await DecodeAsync(wire, prefill, worker, "after_prefill", ct).ConfigureAwait(false);
            return;
        }
        // Every prefill worker's queue is full: the client should back off (429), not pile onto the decode workers.
        if (full > 0 && full == tried.Count) throw new EngineOverloadedException("Every prefill worker's queue is full; retry later.");
        // No prefill worker could take it: the decode worker prefills.
        service.Metrics.Failover(WorkerRole.Prefill, "decode_prefills");
        await DecodeAsync(wire, null, null, "no_prefill_worker", ct).ConfigureAwait(false);
    }

    private async Task DecodeAsync(Request wire, PrefillResponse? prefill, WorkerEndpoint? source, string reason, CancellationToken ct)
    {
        var decode = new DecodeRequest { Request = wire };
        if (prefill is not null)
        {
            decode.KvSource = source!.Address;
            decode.LeaseId = prefill.LeaseId;
            decode.First.AddRange(prefill.First);
            decode.CachedTokens = prefill.CachedTokens;
            decode.Blocks = prefill.Blocks;
        }
        var tried = new HashSet<WorkerEndpoint>();
        int full = 0;
        while (true)
        {
            var candidates = service.Workers.Healthy(WorkerRole.Decode).Where(w => !tried.Contains(w)).ToList();
            if (candidates.Count == 0)
            {
                throw full > 0 && full == tried.Count
                    ? new EngineOverloadedException("Every decode worker's queue is full; retry later.")
                    : new ServiceUnavailableException("No healthy decode worker is left for this request.");
            }

            var decision = service.DecodePolicy.Choose(candidates, default);
            service.Metrics.Decision(service.DecodePolicy.Name, WorkerRole.Decode, reason);
            var worker = decision.Worker;
            tried.Add(worker);
            bool streamed = false;
            try
            {
                using (worker.Track())
                {
                    using var call = worker.Client.Decode(decode, cancellationToken: ct);
                    await foreach (var e in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
                    {
                        streamed = true;
                        _lease = null; // the decode worker has taken over the KV
                        Emit(WireMapping.FromWire(e));
                    }
                }
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && !streamed && IsFull(e))
            {
                full++;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && !streamed && Retryable(e))
            {
                // Nothing reached the client from this worker: another one can take the request as it is.
                service.Log.LogWarning("Decode of {RequestId} on {Worker} failed before streaming ({Error}); trying elsewhere", request.RequestId, worker, Describe(e));
                if (IsConnectionLoss(e)) service.Workers.MarkDown(worker, Describe(e));
                service.Metrics.Failover(WorkerRole.Decode, "retry");
            }
            catch (Exception e) when (!ct.IsCancellationRequested && streamed)
            {
                // Tokens already reached the client: the stream ends here, naming the worker it was lost with.
                bool lost = IsConnectionLoss(e);
                if (lost) service.Workers.MarkDown(worker, Describe(e));
                throw new WorkerLostException($"The {worker} {(lost ? "was lost" : "failed")} while generating this request ({Describe(e)}).");
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsConnectionLoss(e))
            {
                service.Workers.MarkDown(worker, Describe(e));
                throw;
            }
        }
    }

    private void Emit(GenerationEvent e)
    {
        _emitted = true;
        _usage = e.Usage;
        if (e.Finish is not null && (uint)e.Index < (uint)_finished.Length) _finished[e.Index] = true;
        _events.Writer.TryWrite(e);
    }

    private void EndUnfinished(FinishReason reason, string? message = null)
    {
        for (int i = 0; i < _finished.Length; i++)
            if (!_finished[i]) Emit(new GenerationEvent(i, "", [], null, reason, _usage) { ErrorMessage = message });
    }

    /// <summary>A worker failed after its tokens reached the client; the message names it.</summary>
    private sealed class WorkerLostException(string message) : Exception(message);

    private async Task ReleaseAsync(WorkerEndpoint worker, string lease)
    {
        try
        {
            await worker.Client.ReleaseKvAsync(new ReleaseKvRequest { LeaseId = lease }, deadline: DateTime.UtcNow + ReleaseTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or HttpRequestException or IOException or OperationCanceledException)
        {
            // The lease expires on its own; nothing is stranded.
        }
    }

    private static bool Retryable(Exception e) => e switch
    {
        RpcException r => r.StatusCode is not (StatusCode.InvalidArgument or StatusCode.OutOfRange or StatusCode.FailedPrecondition),
        HttpRequestException or IOException => true,
        _ => false,
    };

    private static bool IsFull(Exception e) => e is RpcException { StatusCode: StatusCode.ResourceExhausted };

    private static bool IsConnectionLoss(Exception e) =>
        e is HttpRequestException or IOException || e is RpcException { StatusCode: StatusCode.Unavailable };

    private static string Describe(Exception e) => e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message;

    private static Exception Translate(Exception e) => e switch
    {
        RpcException { StatusCode: StatusCode.InvalidArgument or StatusCode.OutOfRange } r => new InvalidRequestException(r.Status.Detail),
        RpcException { StatusCode: StatusCode.ResourceExhausted } r => new EngineOverloadedException(r.Status.Detail),
        RpcException r => new ServiceUnavailableException($"The workers could not serve the request ({r.StatusCode}: {r.Status.Detail})."),
        ServiceUnavailableException or InvalidRequestException or EngineOverloadedException => e,
        _ => new ServiceUnavailableException("The workers could not serve the request: " + e.Message),
    };
}
