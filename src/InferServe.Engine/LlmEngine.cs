using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using InferServe.Engine.Attention;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;
using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;
using InferServe.Engine.Scheduling;
using InferServe.Models;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferServe.Engine;

/// <summary>
/// The inference engine: thread-safe submission, one loop thread that owns the scheduler, KV cache
/// and runner, and an async stream of token events per request. Cancelling a request's token (or
/// disposing its handle) aborts it and frees its KV blocks within one step.
/// </summary>
public sealed partial class LlmEngine : IAsyncDisposable, IGenerationService
{
    private readonly ModelInstance _model;
    private readonly EngineOptions _options;
    private readonly ILogger _log;
    private readonly IEngineObserver _observer;
    private readonly Scheduler _scheduler;
    private readonly Sampler _sampler = new();
    private readonly GrammarMasks _grammars;
    private readonly ConcurrentQueue<Action> _inbox = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<int> _eos;
    private readonly AttentionBatch _batch;
    private readonly int[] _tokens;
    private float[] _adjusted = [];
    private readonly List<int> _rows = [];
    private readonly List<Sequence> _sampling = [];
    private readonly HashSet<RequestState> _live = [];
    private readonly KvLeaseTable _leases;
    private readonly Queue<RequestState> _pendingImports = new();
    private readonly List<RequestState> _exports = [];
    private readonly int[]?[] _tokenLists;
    private volatile EngineStats _stats;
    private int _queued;
    private long _steps, _promptTokens, _generationTokens;

    public ModelConfig Config => _model.Config;
    public ITokenizer Tokenizer { get; }
    public int MaxContext => _model.MaxContext;
    public EngineStats Stats => _stats;
    public KvCacheSpec KvSpec => _model.Kv.Spec;
    public RunnerTimings Timings => _model.Runner.Timings;
    /// <summary>Where the runner's ONNX graphs (and so its weights, as read) are.</summary>
    public string GraphDirectory => _model.Runner.GraphDirectory;
    public IAttentionBackend Attention => _model.Attention;
    public ModelFacts Facts { get; }
    /// <summary>Time spent on grammar masks (constrained decoding).</summary>
    public GrammarTimings GrammarTimings => _grammars.Timings;
    /// <summary>Everything besides tokens that block hashes depend on (checkpoint and weight precision); routers need it.</summary>
    public string CacheSaltBase => _options.CacheSaltBase;

    public LlmEngine(ModelInstance model, ITokenizer tokenizer, EngineOptions options, IEngineObserver? observer = null, bool stopAtBos = false,
        ILogger? logger = null)
    {
        _log = logger ?? NullLogger.Instance;
        _model = model;
        Tokenizer = tokenizer;
        _options = options;
        _observer = observer ?? new NullObserver();
        var s = options.Scheduler;
        if (s.MaxBatchedTokens > model.Runner.Options.MaxBatchTokens || s.MaxSeqs > model.Runner.Options.MaxSeqs)
            throw new ArgumentException("Scheduler limits exceed the runner's buffers.");
        _scheduler = new Scheduler(s, model.Kv);
        _scheduler.Preempted += _ => _observer.Preempted();
        _scheduler.PrefixLookup += (queried, hit) => _observer.PrefixCacheLookup(queried, hit);
        _leases = new KvLeaseTable(model.Kv.Pool, options.KvLeaseTime, Post);
        Facts = new ModelFacts(model.Config.Architecture, model.Config.VocabSize, model.MaxContext, model.Config.BosTokenId ?? tokenizer.BosTokenId,
            [.. model.Config.EosTokenIds.Concat(tokenizer.EosTokenIds).Distinct().Order()], model.Kv.Spec.BlockSize, model.Kv.Pool.NumBlocks, s.MaxSeqs);
        _eos = [.. model.Config.EosTokenIds, .. tokenizer.EosTokenIds];
        if (stopAtBos && model.Config.BosTokenId is int bos) _eos.Add(bos);
        _grammars = new GrammarMasks(tokenizer, model.Config.VocabSize, _eos, model.MaxContext);
        _batch = new AttentionBatch(s.MaxBatchedTokens, s.MaxSeqs);
        _tokens = new int[s.MaxBatchedTokens];
        _tokenLists = new int[]?[model.Config.VocabSize];
        _stats = Snapshot();
        _thread = new Thread(Loop) { IsBackground = true, Name = "inferserve-engine" };
        _thread.Start();
    }

    /// <summary>
    /// Validates and queues a request. Throws <see cref="InvalidRequestException"/> for requests that
    /// can never run and <see cref="EngineOverloadedException"/> when the waiting queue is full.
    /// </summary>
    public GenerationHandle Submit(GenerationRequest request, CancellationToken cancellationToken = default) =>
        Enqueue(new RequestState(request, Stopwatch.GetTimestamp()), Admit, cancellationToken);

    IGenerationStream IGenerationService.Submit(GenerationRequest request, CancellationToken cancellationToken) => Submit(request, cancellationToken);

    private GenerationHandle Enqueue(RequestState state, Action<RequestState> admit, CancellationToken cancellationToken)
    {
        RequestValidator.Validate(state.Spec, Facts);
        if (Interlocked.Increment(ref _queued) > _options.MaxQueue)
        {
            Interlocked.Decrement(ref _queued);
            throw new EngineOverloadedException($"The waiting queue is full ({_options.MaxQueue} requests); retry later.");
        }
        var handle = new GenerationHandle(this, state);
        Post(() => admit(state));
        if (cancellationToken.CanBeCanceled) handle.Registration = cancellationToken.Register(handle.Abort);
        return handle;
    }

    /// <summary>Convenience: submit and stream events until every choice has finished.</summary>
    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var handle = Submit(request, cancellationToken);
        await foreach (var e in handle.ReadAllAsync(cancellationToken)) yield return e;
    }

    internal void Post(Action command)
    {
        _inbox.Enqueue(command);
        _wake.Release();
    }

    private void Admit(RequestState state)
    {
        var spec = state.Spec;
        var salt = SaltFor(spec);
        ulong seed = spec.Sampling.Seed ?? (ulong)Random.Shared.NextInt64();
        var seq = new Sequence(state, 0, spec.PromptTokens.ToArray(), spec.PromptTokens.Count, new SequenceKv(salt), seed, NewOutput(spec));
        if (spec.PromptLogprobs is not null) seq.PromptLogprobs = [new TokenLogprob(spec.PromptTokens[0], float.NaN, [])];
        state.Sequences.Add(seq);
        state.Unfinished = 1;
        _live.Add(state);
        if (state.Aborted)
        {
            AbortNow(state);
            return;
        }
        if (!TryAttachGrammar(seq)) return;
        _scheduler.Enqueue(seq);
        _observer.RequestQueued();
    }

    /// <summary>Gives the sequence its grammar matcher (replaying tokens it already has); fails the sequence if the grammar cannot run.</summary>
    private bool TryAttachGrammar(Sequence seq)
    {
        try
        {
            seq.Grammar = _grammars.Create(seq.Request.Spec, seq.Tokens[seq.PromptLength..]);
            return true;
        }
        catch (InferServe.Grammar.GrammarException e)
        {
            _log.LogError("Grammar failed for request {RequestId}: {Reason}", seq.Request.Spec.RequestId, e.Message);
            Emit(seq, "", [], null, FinishReason.Error);
            Finish(seq, FinishReason.Error);
            return false;
        }
    }

    /// <summary>Prompt logprobs need every prompt row computed: such a request gets a salt of its own, so it never hits the prefix cache.</summary>
    private BlockHash SaltFor(GenerationRequest spec) =>
        BlockHash.Salt(_options.CacheSaltBase + "\u0001" + spec.CacheSalt + (spec.PromptLogprobs is null ? "" : "\u0002" + Guid.NewGuid().ToString("N")));

    private OutputState NewOutput(GenerationRequest spec)
    {
        var decoder = Tokenizer.CreateIncrementalDecoder(spec.SkipSpecialTokens);
        decoder.Prime(spec.PromptTokens as int[] ?? [.. spec.PromptTokens]);
        return new OutputState(decoder, spec.StopStrings, spec.IncludeStopStringInOutput);
    }

    /// <summary>Steps completed so far (engine thread writes, anyone may read).</summary>
    internal long CompletedSteps => Volatile.Read(ref _steps);

    /// <summary>Steps that ran between the last abort request and its application (0 or 1 by design).</summary>
    internal long LastAbortLagSteps { get; private set; }

    internal void AbortNow(RequestState state)
    {
        long requestedAt = Volatile.Read(ref state.AbortRequestedAtStep);
        if (requestedAt >= 0 && state.Unfinished > 0) LastAbortLagSteps = _steps - requestedAt;
        state.Aborted = true;
        foreach (var seq in state.Sequences.ToArray())
            if (!seq.IsFinished)
            {
                Emit(seq, "", [], null, FinishReason.Abort);
                Finish(seq, FinishReason.Abort);
            }
    }

    private void Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            while (_inbox.TryDequeue(out var command)) command();
            _leases.ExpireDue();
            if (_pendingImports.Count > 0) StartImports();
            if (_scheduler.RunningCount == 0 && _scheduler.WaitingCount == 0)
            {
                _stats = Snapshot();
                try { _wake.Wait(_leases.NextExpiry(), _stop.Token); }
                catch (OperationCanceledException) { break; }
                continue;
            }
            Step();
            _stats = Snapshot();
        }
        while (_inbox.TryDequeue(out var command)) command();
        foreach (var state in _live.ToArray()) AbortNow(state);
    }

    private void Step()
    {
        var plan = _scheduler.Schedule();
        if (plan.Count == 0)
        {
            // Nothing fits even with an empty cache: fail the head of the queue instead of spinning.
            if (_scheduler.RunningCount == 0) FailStuckWaiting();
            return;
        }
        _batch.Clear();
        _rows.Clear();
        _sampling.Clear();
        int T = 0, prompt = 0;
        foreach (var chunk in plan)
        {
            var seq = chunk.Sequence;
            NotePromptChunk(seq, T, chunk.Start, chunk.Count);
            int si = _batch.AddSequence(seq.Kv.Table.Blocks, chunk.Start + chunk.Count);
            var tokens = seq.Tokens;
            for (int i = 0; i < chunk.Count; i++)
            {
                _tokens[T++] = tokens[chunk.Start + i];
                _batch.AddToken(si, chunk.Start + i);
            }
            if (chunk.Start < seq.PromptLength) prompt += Math.Min(chunk.Count, seq.PromptLength - chunk.Start);
            if (chunk.Samples)
            {
                _rows.Add(T - 1);
                _sampling.Add(seq);
            }
        }

        ReadOnlySpan<float> logits;
        // Masks that are not cached yet are built while the dense graphs run.
        var masks = _grammars.Prepare(_sampling);
        try
        {
            logits = _model.Runner.Forward(_tokens.AsSpan(0, T), _batch, _model.Attention, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_rows));
            masks?.Wait();
        }
        catch (Exception e)
        {
            // A failed step must not take the server down: fail what was in it, keep serving the rest.
            _log.LogError(e, "Engine step failed; its {Count} sequence(s) end with an error and the engine keeps serving", plan.Count);
            _promptChunks.Clear();
            foreach (var chunk in plan)
                if (!chunk.Sequence.IsFinished)
                {
                    Emit(chunk.Sequence, "", [], null, FinishReason.Error);
                    Finish(chunk.Sequence, FinishReason.Error);
                }
            return;
        }
        Volatile.Write(ref _steps, _steps + 1);
        _promptTokens += prompt;
        foreach (var chunk in plan)
        {
            var seq = chunk.Sequence;
            seq.NumComputed = chunk.Start + chunk.Count;
            _model.Kv.CacheFullBlocks(seq.Kv, seq.Tokens, seq.NumComputed);
        }
        if (_promptChunks.Count > 0) logits = ComputePromptLogprobs(logits);
        int v = Config.VocabSize;
        for (int r = 0; r < _sampling.Count; r++)
        {
            var seq = _sampling[r];
            var row = logits.Slice(r * v, v);
            var request = seq.Request;
            // Before sampling: a first token that finishes the request must still reach the export's result.
            if (request.Export is not null && !_exports.Contains(request)) _exports.Add(request);
            if (request.Spec.N > 1 && !request.Forked)
            {
                request.Forked = true;
                for (int i = 1; i < request.Spec.N; i++)
                {
                    ulong rng = seq.Rng + (ulong)i * 0xD1B54A32D192ED03UL;
                    var child = seq.Fork(i, _model.Kv.Fork(seq.Kv), rng, NewOutput(request.Spec));
                    request.Sequences.Add(child);
                    request.Unfinished++;
                    _scheduler.AddRunning(child);
                    SampleAndEmit(child, row);
                }
            }
            SampleAndEmit(seq, row);
        }
        if (_exports.Count > 0) CompleteExports();
        _observer.TokensComputed(prompt, _sampling.Count);
    }

    private void SampleAndEmit(Sequence seq, ReadOnlySpan<float> logits)
    {
        var spec = seq.Request.Spec;
        var sampled = logits;
        if (LogitAdjustments.Needed(spec, seq.Generated))
        {
            if (_adjusted.Length < logits.Length) _adjusted = new float[logits.Length];
            var row = _adjusted.AsSpan(0, logits.Length);
            logits.CopyTo(row);
            LogitAdjustments.Apply(row, spec, seq.Generated, _eos);
            sampled = row;
        }
        var grammar = seq.Grammar;
        long maskStart = grammar is null ? 0 : Stopwatch.GetTimestamp();
        int token = _sampler.Sample(sampled, spec.Sampling, ref seq.Rng, seq, grammar is null ? default : _grammars.Mask(seq, grammar));
        bool grammarBroken = false;
        if (grammar is not null)
        {
            if (grammar.BudgetNarrowed && !seq.BudgetCloseCounted)
            {
                seq.BudgetCloseCounted = true;
                _observer.StructuredOutputBudgetClose();
            }
            try { grammarBroken = !grammar.Accept(token); }
            catch (InferServe.Grammar.GrammarException) { grammarBroken = true; }
            _grammars.Record(Stopwatch.GetTimestamp() - maskStart);
        }
        var logprob = spec.Logprobs is int k ? _sampler.Logprobs(logits, token, k) : null;
        seq.Append(token);
        seq.Request.CompletionTokens++;
        _generationTokens++;

        long now = Stopwatch.GetTimestamp();
        var request = seq.Request;
        if (request.FirstTokenTicks == 0)
        {
            request.FirstTokenTicks = now;
            _observer.FirstToken(Stopwatch.GetElapsedTime(request.ArrivalTicks, now), Stopwatch.GetElapsedTime(request.ArrivalTicks, seq.AdmittedTicks));
            Interlocked.Decrement(ref _queued);
        }
        else _observer.InterTokenLatency(Stopwatch.GetElapsedTime(request.LastTokenTicks, now));
        request.LastTokenTicks = now;

        var (finish, text) = FinishRules.After(seq, token, grammarBroken, _eos, MaxContext);
        Emit(seq, text, TokenList(token), logprob is null ? null : [logprob], finish);
        if (finish is { } reason) Finish(seq, reason);
    }

    /// <summary>A one-token list per vocabulary id, made once: events are read-only, so every event of a token shares it.</summary>
    private int[] TokenList(int token) => _tokenLists[token] ??= [token];

    private static void Emit(Sequence seq, string text, int[] tokens, TokenLogprob[]? logprobs, FinishReason? finish) =>
        seq.Request.Events.Writer.TryWrite(new GenerationEvent(seq.Index, text, tokens, logprobs, finish, seq.Request.Usage) { PromptLogprobs = TakePromptLogprobs(seq) });

    private void Finish(Sequence seq, FinishReason reason, bool exported = false)
    {
        if (seq.IsFinished) return;
        bool wasQueued = seq.Request.FirstTokenTicks == 0;
        bool transferHolds = seq.Status == SequenceStatus.WaitingForKv;
        _scheduler.Remove(seq);
        seq.Status = SequenceStatus.Finished;
        seq.FinishReason = reason;
        var request = seq.Request;
        // A transfer still writing the blocks: cancel it; ImportDone frees them once it has stopped.
        if (transferHolds) request.Import!.Cancel.Cancel();
        else _model.Kv.Free(seq.Kv);
        if (--request.Unfinished > 0) return;
        if (wasQueued) Interlocked.Decrement(ref _queued);
        _live.Remove(request);
        if (request.Export is { } export && !_exports.Contains(request)) export.TrySetCanceled();
        request.Events.Writer.TryComplete();
        if (exported) return;
        _observer.RequestFinished(request.Spec.RequestId, reason, Stopwatch.GetElapsedTime(request.ArrivalTicks), request.Spec.PromptTokens.Count, request.CompletionTokens, request.CachedTokens);
    }

    private void FailStuckWaiting()
    {
        foreach (var state in _live.ToArray())
            foreach (var seq in state.Sequences)
                if (seq.Status == SequenceStatus.Waiting)
                {
                    Emit(seq, "", [], null, FinishReason.Error);
                    Finish(seq, FinishReason.Error);
                    return;
                }
    }

    private EngineStats Snapshot()
    {
        var pool = _model.Kv.Pool;
        return new EngineStats(_scheduler.RunningCount + _scheduler.Reserved, _scheduler.WaitingCount + _pendingImports.Count + _inbox.Count, pool.NumBlocks,
            pool.FreeCount, _model.Kv.Spec.BlockSize, _model.Kv.PrefixQueryTokens, _model.Kv.PrefixHitTokens, _scheduler.Preemptions, _steps, _promptTokens, _generationTokens);
    }

    /// <summary>Runs <paramref name="query"/> on the engine thread between steps (tests and diagnostics).</summary>
    public Task<T> InspectAsync<T>(Func<KvCacheManager, T> query) => OnEngineThread(() => query(_model.Kv));

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _wake.Release();
        await Task.Run(() => _thread.Join());
        _stop.Dispose();
    }

    private sealed class NullObserver : IEngineObserver;
}
