using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Engine.Scheduling;
using Microsoft.Extensions.Logging;

namespace InferServe.Engine.Kv.Transfer;

/// <summary>
/// The KV connector of disaggregated workers. Export: the prompt's blocks go under a lease, which a decode worker reads
/// off the engine thread as stored spans. Import: blocks are reserved for the prompt, the request's fill callback writes
/// them off the engine thread, and the choices join the running set back on it; when the fill fails (or there is
/// none) the prompt is recomputed here, as after a preemption.
/// </summary>
internal sealed class LeaseKvConnector : IKvConnector
{
    private readonly KvCacheManager _kv;
    private readonly KvStorage _storage;
    private readonly Scheduler _scheduler;
    private readonly RequestTable _requests;
    private readonly int _maxSeqs;
    private readonly Action<Action> _post;
    private readonly ILogger _log;
    private readonly KvLeaseTable _leases;
    private readonly List<RequestState> _exports = [];
    private readonly Queue<RequestState> _pendingImports = new();

    /// <param name="post">Runs an action on the engine thread (transfer completions, lease releases).</param>
    public LeaseKvConnector(KvCacheManager kv, KvStorage storage, Scheduler scheduler, RequestTable requests, int maxSeqs, TimeSpan leaseTime,
        Action<Action> post, ILogger log)
    {
        _kv = kv;
        _storage = storage;
        _scheduler = scheduler;
        _requests = requests;
        _maxSeqs = maxSeqs;
        _post = post;
        _log = log;
        _leases = new KvLeaseTable(kv.Pool, leaseTime, post);
    }

    public TimeSpan NextDue => _leases.NextExpiry();
    public int PendingImports => _pendingImports.Count;
    public long ImportFallbacks { get; private set; }
    public (int Held, long Released, long Expired) Exports => (_leases.Held, _leases.Released, _leases.Expired);

    public void Poll()
    {
        _leases.ExpireDue();
        if (_pendingImports.Count > 0) StartImports();
    }

    public KvBlockSpans? BeginRead(string exportId) => _leases.BeginRead(exportId) is { } blocks ? new KvBlockSpans(_storage, blocks) : null;
    public void EndRead(string exportId, bool release) => _leases.EndRead(exportId, release);
    public bool Release(string exportId) => _leases.Release(exportId);

    public void BeforeSampling(List<Sequence> sampling)
    {
        // Noted before sampling: a first token that finishes the request must still reach the export's result.
        foreach (var seq in sampling)
        {
            if (seq.Request is { Export: not null, ExportTaken: false } request)
            {
                request.ExportTaken = true;
                _exports.Add(request);
            }
        }
    }

    public void CompleteExports()
    {
        if (_exports.Count == 0) return;
        foreach (var request in _exports)
        {
            var choices = new PrefillChoice[request.Sequences.Count];
            Sequence? live = null;
            for (int i = 0; i < choices.Length; i++)
            {
                var s = request.Sequences[i];
                choices[i] = new PrefillChoice(s.Index, s.Tokens[s.PromptLength], s.Rng, s.IsFinished ? s.FinishReason : null);
                if (!s.IsFinished) live ??= s;
            }
            Array.Sort(choices, (a, b) => a.Index.CompareTo(b.Index));
            int prompt = request.Spec.PromptTokens.Count;
            int blocks = _kv.BlocksFor(prompt);
            string? lease = live is null ? null : _leases.Create(live.Kv.Table.AsSpan()[..blocks]);
            request.Export!.TrySetResult(new PrefillResult(lease, prompt, request.CachedTokens, live is null ? 0 : blocks, choices));
            foreach (var s in request.Sequences.ToArray())
                if (!s.IsFinished) _requests.Finish(s, FinishReason.Stop, exported: true);
        }
        _exports.Clear();
    }

    public void Import(RequestState state)
    {
        if (state.Import!.Fill is not null)
        {
            _pendingImports.Enqueue(state);
            return;
        }
        foreach (var seq in state.Sequences) Recompute(seq);
    }

    private void Recompute(Sequence seq)
    {
        seq.NumComputed = 0;
        _scheduler.Enqueue(seq);
    }

    /// <summary>Reserves blocks and seats for waiting imports in arrival order, and starts their transfers.</summary>
    private void StartImports()
    {
        while (_pendingImports.TryPeek(out var state))
        {
            if (state.Unfinished == 0 || state.Aborted)
            {
                _pendingImports.Dequeue();
                continue;
            }
            var import = state.Import!;
            int seats = state.Unfinished;
            if (_scheduler.RunningCount + _scheduler.Reserved + seats > _maxSeqs) return;
            var lead = state.Sequences[0];
            if (!_kv.TryReserve(lead.Kv, 0, lead.PromptLength)) return;
            _pendingImports.Dequeue();
            import.Seats = seats;
            _scheduler.Reserved += seats;
            foreach (var seq in state.Sequences) seq.Status = SequenceStatus.WaitingForKv;
            var spans = new KvBlockSpans(_storage, lead.Kv.Table.AsSpan().ToArray());
            _ = Task.Run(async () =>
            {
                Exception? error = null;
                try { await import.Fill!(spans, import.Cancel.Token).ConfigureAwait(false); }
                catch (Exception e) { error = e; }
                _post(() => ImportDone(state, error));
            });
        }
    }

    private void ImportDone(RequestState state, Exception? error)
    {
        _scheduler.Reserved -= state.Import!.Seats;
        var lead = state.Sequences[0];
        if (lead.IsFinished)
        {
            // Aborted while the transfer held the blocks: they are free to go now.
            _kv.Free(lead.Kv);
            return;
        }
        if (error is not null)
        {
            // The KV never arrived (prefill worker gone, lease expired): recompute it here, as a preempted sequence
            // would. The first tokens stand, so the output is the same as if the transfer had worked.
            _log.LogWarning("KV import for request {RequestId} failed ({Reason}); recomputing the prompt locally", state.Spec.RequestId, error.Message);
            ImportFallbacks++;
            _kv.Free(lead.Kv);
            foreach (var seq in state.Sequences) Recompute(seq);
            return;
        }
        int prompt = lead.PromptLength;
        _kv.CacheFullBlocks(lead.Kv, lead.Tokens, prompt);
        foreach (var seq in state.Sequences)
        {
            if (seq != lead) seq.Kv = _kv.Fork(lead.Kv);
            seq.NumComputed = prompt;
            _scheduler.AddRunning(seq);
        }
    }
}
