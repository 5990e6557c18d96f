using System.Diagnostics;
using InferServe.Contracts;
using InferServe.Engine.Kv;
using InferServe.Engine.Output;
using InferServe.Engine.Sampling;
using InferServe.Engine.Scheduling;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging;

namespace InferServe.Engine.Core;

/// <summary>
/// The engine's live requests: the waiting count that admission control checks (any thread), admission of fresh and
/// imported requests, and finishing a choice, which frees its blocks and, for the last choice, completes the stream.
/// Everything but the count runs on the engine thread.
/// </summary>
internal sealed class RequestTable(Scheduler scheduler, KvCacheManager kv, GrammarMasks grammars, ITokenizer tokenizer, IEngineObserver observer,
    EngineOptions options, ILogger log)
{
    private readonly HashSet<RequestState> _live = [];
    private int _queued;

    /// <summary>Counts a submission against the queue limit; false (nothing counted) when the queue is full.</summary>
    public bool TryQueue()
    {
        if (Interlocked.Increment(ref _queued) <= options.MaxQueue) return true;
        Interlocked.Decrement(ref _queued);
        return false;
    }

    /// <summary>A request stopped waiting: its first token came, or its prefill came from elsewhere.</summary>
    public void Dequeued() => Interlocked.Decrement(ref _queued);

    public void Admit(RequestState state)
    {
        var spec = state.Spec;
        ulong seed = spec.Sampling.Seed ?? (ulong)Random.Shared.NextInt64();
        var seq = new Sequence(state, 0, spec.PromptTokens.ToArray(), spec.PromptTokens.Count, new SequenceKv(SaltFor(spec)), seed, OutputState.For(tokenizer, spec));
        if (spec.PromptLogprobs is not null) seq.PromptLogprobs = [new TokenLogprob(spec.PromptTokens[0], float.NaN, [])];
        state.Sequences.Add(seq);
        state.Unfinished = 1;
        _live.Add(state);
        if (state.Aborted)
        {
            Abort(state);
            return;
        }
        if (!TryAttachGrammar(seq)) return;
        scheduler.Enqueue(seq);
        observer.RequestQueued();
    }

    /// <summary>
    /// Admits a request prefilled elsewhere: one sequence per unfinished choice, holding its first token. Returns whether
    /// it still needs its prompt's KV (false: every choice finished at the prefill, or it was aborted meanwhile).
    /// </summary>
    public bool AdmitImported(RequestState state)
    {
        var spec = state.Spec;
        var prefill = state.Import!.Prefill;
        var salt = SaltFor(spec);
        var prompt = spec.PromptTokens as int[] ?? [.. spec.PromptTokens];
        foreach (var c in prefill.Choices.OrderBy(c => c.Index))
        {
            if (c.Finish is not null) continue;
            var output = OutputState.For(tokenizer, spec);
            // Replays the first token through the stop-string and UTF-8 state: its text was sent by the prefill worker.
            output.Push(output.Decoder.Push(c.Token));
            var seq = new Sequence(state, c.Index, prompt, prompt.Length, new SequenceKv(salt), c.Rng, output);
            seq.Append(c.Token);
            state.Sequences.Add(seq);
            seq.Grammar = grammars.Create(spec, seq.Tokens[seq.PromptLength..]);
        }
        state.Unfinished = state.Sequences.Count;
        state.CompletionTokens = prefill.Choices.Count;
        state.CachedTokens = prefill.CachedTokens;
        state.Forked = true;
        state.FirstTokenTicks = state.LastTokenTicks = Stopwatch.GetTimestamp();
        Dequeued();
        if (state.Unfinished == 0)
        {
            state.Events.Writer.TryComplete();
            return false;
        }
        _live.Add(state);
        if (!state.Aborted) return true;
        Abort(state);
        return false;
    }

    /// <summary>Gives the sequence its grammar matcher; fails the sequence if the grammar cannot run.</summary>
    private bool TryAttachGrammar(Sequence seq)
    {
        try
        {
            seq.Grammar = grammars.Create(seq.Request.Spec, seq.Tokens[seq.PromptLength..]);
            return true;
        }
        catch (InferServe.Grammar.GrammarException e)
        {
            log.LogError("Grammar failed for request {RequestId}: {Reason}", seq.Request.Spec.RequestId, e.Message);
            End(seq, FinishReason.Error);
            return false;
        }
    }

    /// <summary>Prompt logprobs need every prompt row computed: such a request gets a salt of its own, so it never hits the prefix cache.</summary>
    private BlockHash SaltFor(GenerationRequest spec) =>
        BlockHash.Salt(options.CacheSaltBase + "\u0001" + spec.CacheSalt + (spec.PromptLogprobs is null ? "" : "\u0002" + Guid.NewGuid().ToString("N")));

    /// <summary>Ends a choice with an empty final event (abort, error).</summary>
    public void End(Sequence seq, FinishReason reason)
    {
        Emission.Emit(seq, "", [], null, reason);
        Finish(seq, reason);
    }

    /// <summary>Takes a choice out of the scheduler and frees its blocks; the last choice completes the request's stream.</summary>
    /// <param name="exported">The choice ended because its KV went to another worker: the request is not counted as finished here.</param>
    public void Finish(Sequence seq, FinishReason reason, bool exported = false)
    {
        if (seq.IsFinished) return;
        bool wasQueued = seq.Request.FirstTokenTicks == 0;
        bool transferHolds = seq.Status == SequenceStatus.WaitingForKv;
        scheduler.Remove(seq);
        seq.Status = SequenceStatus.Finished;
        seq.FinishReason = reason;
        var request = seq.Request;
        // A transfer still writing the blocks: cancel it; the connector frees them once it has stopped.
        if (transferHolds) request.Import!.Cancel.Cancel();
        else kv.Free(seq.Kv);
        if (--request.Unfinished > 0) return;
        if (wasQueued) Dequeued();
        _live.Remove(request);
        if (request.Export is { } export && !request.ExportTaken) export.TrySetCanceled();
        request.Events.Writer.TryComplete();
        if (exported) return;
        observer.RequestFinished(request.Spec.RequestId, reason, Stopwatch.GetElapsedTime(request.ArrivalTicks), request.Spec.PromptTokens.Count,
            request.CompletionTokens, request.CachedTokens);
    }

    public void Abort(RequestState state)
    {
        state.Aborted = true;
        foreach (var seq in state.Sequences.ToArray())
            if (!seq.IsFinished) End(seq, FinishReason.Abort);
    }

    /// <summary>Nothing fits even with an empty cache: fails the first waiting choice instead of spinning.</summary>
    public void FailFirstWaiting()
    {
        foreach (var state in _live)
        {
            foreach (var seq in state.Sequences)
            {
                if (seq.Status == SequenceStatus.Waiting)
                {
                    End(seq, FinishReason.Error);
                    return;
                }
            }
        }
    }

    /// <summary>Engine shutdown: every live request ends as aborted.</summary>
    public void AbortAll()
    {
        foreach (var state in _live.ToArray()) Abort(state);
    }
}
