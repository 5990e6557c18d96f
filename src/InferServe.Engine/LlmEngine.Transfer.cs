using System.Diagnostics;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;
using Microsoft.Extensions.Logging;

namespace InferServe.Engine;

/// <summary>
/// The KV connector seam. Export (prefill worker): a request stops after its first token and its prompt blocks
/// go under a lease, read off the engine thread as stored spans. Import (decode worker): blocks are reserved, a
/// transfer fills them off the engine thread, and the sequences join the running set on the engine thread.
/// </summary>
public sealed partial class LlmEngine
{
    /// <summary>Runs the prompt and samples the first token of every choice, then leases the prompt's KV for pickup.</summary>
    public (GenerationHandle Handle, Task<PrefillResult> Result) SubmitPrefill(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var export = new TaskCompletionSource<PrefillResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = Enqueue(new RequestState(request, Stopwatch.GetTimestamp()) { Export = export }, Admit, cancellationToken);
        return (handle, export.Task);
    }

    /// <summary>
    /// Continues a request prefilled elsewhere: reserves the prompt's blocks, lets <paramref name="fill"/> write them
    /// (off the engine thread), then decodes from the prefill's first tokens and random states.
    /// </summary>
    /// <remarks>Without <paramref name="fill"/> the prompt's KV is recomputed here (its prefill worker is gone).</remarks>
    public GenerationHandle SubmitImported(GenerationRequest request, ImportedPrefill prefill, Func<KvBlockSpans, CancellationToken, Task>? fill,
        CancellationToken cancellationToken = default)
    {
        if (prefill.Choices.Count != request.N || prefill.Choices.Any(c => (uint)c.Index >= (uint)request.N || (uint)c.Token >= (uint)Config.VocabSize))
            throw new InvalidRequestException("The prefill's first tokens do not match the request's choices or vocabulary.", "prefill");
        return Enqueue(new RequestState(request, Stopwatch.GetTimestamp()) { Import = new KvImport(prefill, fill) }, AdmitImport, cancellationToken);
    }

    /// <summary>Starts reading a lease's blocks (any thread, no engine step waited for); null when the lease is unknown, released or expired.</summary>
    public KvBlockSpans? BeginLeaseRead(string leaseId) => _leases.BeginRead(leaseId) is { } blocks ? new KvBlockSpans(_model.Storage, blocks) : null;

    /// <summary>Ends a read; <paramref name="release"/> ends the lease (the decode worker has the blocks).</summary>
    public void EndLeaseRead(string leaseId, bool release) => _leases.EndRead(leaseId, release);

    public bool ReleaseLease(string leaseId) => _leases.Release(leaseId);

    /// <summary>Leases held now, and ended by pickup or release, or by expiry: read live, from any thread.</summary>
    public (int Held, long Released, long Expired) Leases => (_leases.Held, _leases.Released, _leases.Expired);

    /// <summary>Block-stored (true) and block-evicted (false) events of the prefix cache, raised on the engine thread.</summary>
    public event Action<BlockHash, bool>? BlockEvent
    {
        add => _model.Kv.Pool.BlockEvent += value;
        remove => _model.Kv.Pool.BlockEvent -= value;
    }

    /// <summary>The hashes of every block in the prefix cache now (a snapshot for a new subscriber).</summary>
    public Task<BlockHash[]> CachedBlocksAsync() => OnEngineThread(() => _model.Kv.Pool.CachedHashes());

    private Task<T> OnEngineThread<T>(Func<T> query)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try { tcs.SetResult(query()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task;
    }

    private void CompleteExports()
    {
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
            int blocks = _model.Kv.BlocksFor(prompt);
            string? lease = live is null ? null : _leases.Create(live.Kv.Table.AsSpan()[..blocks]);
            request.Export!.TrySetResult(new PrefillResult(lease, prompt, request.CachedTokens, live is null ? 0 : blocks, choices));
            foreach (var s in request.Sequences.ToArray())
                if (!s.IsFinished) Finish(s, FinishReason.Stop, exported: true);
        }
        _exports.Clear();
    }

    private void AdmitImport(RequestState state)
    {
        var spec = state.Spec;
        var prefill = state.Import!.Prefill;
        var salt = SaltFor(spec);
        var prompt = spec.PromptTokens as int[] ?? [.. spec.PromptTokens];
        foreach (var c in prefill.Choices.OrderBy(c => c.Index))
        {
            if (c.Finish is not null) continue;
            var output = NewOutput(spec);
            // Replays the first token through the stop-string and UTF-8 state: its text was sent by the prefill worker.
            output.Push(output.Decoder.Push(c.Token));
            var seq = new Sequence(state, c.Index, prompt, prompt.Length, new SequenceKv(salt), c.Rng, output);
            seq.Append(c.Token);
            state.Sequences.Add(seq);
            seq.Grammar = _grammars.Create(spec, seq.Tokens[seq.PromptLength..]);
        }
        state.Unfinished = state.Sequences.Count;
        state.CompletionTokens = prefill.Choices.Count;
        state.CachedTokens = prefill.CachedTokens;
        state.Forked = true;
        state.FirstTokenTicks = state.LastTokenTicks = Stopwatch.GetTimestamp();
        Interlocked.Decrement(ref _queued);
        if (state.Unfinished == 0)
        {
            state.Events.Writer.TryComplete();
            return;
        }
        _live.Add(state);
        if (state.Aborted)
        {
            AbortNow(state);
            return;
        }
        if (state.Import!.Fill is null)
            foreach (var seq in state.Sequences) Recompute(seq);
        else _pendingImports.Enqueue(state);
    }

    /// <summary>Imports whose KV was recomputed here because the transfer failed.</summary>
    public long ImportFallbacks { get; private set; }

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
            if (_scheduler.RunningCount + _scheduler.Reserved + seats > _options.Scheduler.MaxSeqs) return;
            var lead = state.Sequences[0];
            if (!_model.Kv.TryReserve(lead.Kv, 0, lead.PromptLength)) return;
            _pendingImports.Dequeue();
            import.Seats = seats;
            _scheduler.Reserved += seats;
            foreach (var seq in state.Sequences) seq.Status = SequenceStatus.WaitingForKv;
            var spans = new KvBlockSpans(_model.Storage, lead.Kv.Table.AsSpan().ToArray());
            _ = Task.Run(async () =>
            {
                Exception? error = null;
                try { await import.Fill!(spans, import.Cancel.Token).ConfigureAwait(false); }
                catch (Exception e) { error = e; }
                Post(() => ImportDone(state, error));
            });
        }
    }

    private void ImportDone(RequestState state, Exception? error)
    {
        var import = state.Import!;
        _scheduler.Reserved -= import.Seats;
        var lead = state.Sequences[0];
        if (lead.IsFinished)
        {
            // Aborted while the transfer held the blocks: they are free to go now.
            _model.Kv.Free(lead.Kv);
            return;
        }
        if (error is not null)
        {
            // The KV never arrived (prefill worker gone, lease expired): recompute it here, as a preempted sequence
            // would. The first tokens stand, so the output is the same as if the transfer had worked.
            _log.LogWarning("KV import for request {RequestId} failed ({Reason}); recomputing the prompt locally", state.Spec.RequestId, error.Message);
            ImportFallbacks++;
            _model.Kv.Free(lead.Kv);
            foreach (var seq in state.Sequences) Recompute(seq);
            return;
        }
        int prompt = lead.PromptLength;
        _model.Kv.CacheFullBlocks(lead.Kv, lead.Tokens, prompt);
        foreach (var seq in state.Sequences)
        {
            if (seq != lead) seq.Kv = _model.Kv.Fork(lead.Kv);
            seq.NumComputed = prompt;
            _scheduler.AddRunning(seq);
        }
    }
}
