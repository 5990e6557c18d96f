using System.Diagnostics;
using System.Runtime.CompilerServices;
using InferServe.Contracts;
using InferServe.Engine.Api;
using InferServe.Engine.Attention;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;
using InferServe.Engine.Output;
using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;
using InferServe.Engine.Scheduling;
using InferServe.Models;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferServe.Engine;

/// <summary>
/// The inference engine: thread-safe submission into an inbox, and one loop thread that runs the stages of every step:
/// scheduler (plan), batch builder (flattened batch), model runner (logits), output processor (tokens and events), with
/// the KV connector moving prompt KV to and from other workers. Cancelling a request's token (or disposing its handle)
/// aborts it and frees its KV blocks within one step.
/// </summary>
public sealed class LlmEngine : IAsyncDisposable, IGenerationService
{
    private readonly ModelInstance _model;
    private readonly EngineOptions _options;
    private readonly ILogger _log;
    private readonly IEngineObserver _observer;
    private readonly Scheduler _scheduler;
    private readonly GrammarMasks _grammars;
    private readonly RequestTable _requests;
    private readonly BatchBuilder _batch;
    private readonly OutputProcessor _outputs;
    private readonly IKvConnector _connector;
    private readonly EngineInbox _inbox = new();
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private volatile EngineStats _stats;
    private long _steps, _promptTokens;

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
        Facts = new ModelFacts(model.Config.Architecture, model.Config.VocabSize, model.MaxContext, model.Config.BosTokenId ?? tokenizer.BosTokenId,
            [.. model.Config.EosTokenIds.Concat(tokenizer.EosTokenIds).Distinct().Order()], model.Kv.Spec.BlockSize, model.Kv.Pool.NumBlocks, s.MaxSeqs);
        HashSet<int> eos = [.. model.Config.EosTokenIds, .. tokenizer.EosTokenIds];
        if (stopAtBos && model.Config.BosTokenId is int bos) eos.Add(bos);
        _grammars = new GrammarMasks(tokenizer, model.Config.VocabSize, eos, model.MaxContext);
        _requests = new RequestTable(_scheduler, model.Kv, _grammars, tokenizer, _observer, options, _log);
        _batch = new BatchBuilder(s.MaxBatchedTokens, s.MaxSeqs);
        _outputs = new OutputProcessor(model.Runner, _scheduler, model.Kv, _requests, _grammars, tokenizer, eos, model.MaxContext, _observer);
        _connector = new LeaseKvConnector(model.Kv, model.Storage, _scheduler, _requests, s.MaxSeqs, options.KvLeaseTime, Post, _log);
        _stats = Snapshot();
        _thread = new Thread(Loop) { IsBackground = true, Name = "inferserve-engine" };
        _thread.Start();
    }

    /// <summary>
    /// Validates and queues a request. Throws <see cref="InvalidRequestException"/> for requests that
    /// can never run and <see cref="EngineOverloadedException"/> when the waiting queue is full.
    /// </summary>
    public GenerationHandle Submit(GenerationRequest request, CancellationToken cancellationToken = default) =>
        Enqueue(new RequestState(request, Stopwatch.GetTimestamp()), _requests.Admit, cancellationToken);

    IGenerationStream IGenerationService.Submit(GenerationRequest request, CancellationToken cancellationToken) => Submit(request, cancellationToken);

    /// <summary>Runs the prompt and samples the first token of every choice, then leases the prompt's KV for pickup.</summary>
    public (GenerationHandle Handle, Task<PrefillResult> Result) SubmitPrefill(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var export = new TaskCompletionSource<PrefillResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = Enqueue(new RequestState(request, Stopwatch.GetTimestamp()) { Export = export }, _requests.Admit, cancellationToken);
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
        return Enqueue(new RequestState(request, Stopwatch.GetTimestamp()) { Import = new KvImport(prefill, fill) },
            state => { if (_requests.AdmitImported(state)) _connector.Import(state); }, cancellationToken);
    }

    private GenerationHandle Enqueue(RequestState state, Action<RequestState> admit, CancellationToken cancellationToken)
    {
        RequestValidator.Validate(state.Spec, Facts);
        if (!_requests.TryQueue()) throw new EngineOverloadedException($"The waiting queue is full ({_options.MaxQueue} requests); retry later.");
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

    /// <summary>Starts reading a lease's blocks (any thread, no engine step waited for); null when the lease is unknown, released or expired.</summary>
    public KvBlockSpans? BeginLeaseRead(string leaseId) => _connector.BeginRead(leaseId);

    /// <summary>Ends a read; <paramref name="release"/> ends the lease (the decode worker has the blocks).</summary>
    public void EndLeaseRead(string leaseId, bool release) => _connector.EndRead(leaseId, release);

    public bool ReleaseLease(string leaseId) => _connector.Release(leaseId);

    /// <summary>Leases held now, and ended by pickup or release, or by expiry: read live, from any thread.</summary>
    public (int Held, long Released, long Expired) Leases => _connector.Exports;

    /// <summary>Imports whose KV was recomputed here because the transfer failed.</summary>
    public long ImportFallbacks => _connector.ImportFallbacks;

    /// <summary>Block-stored (true) and block-evicted (false) events of the prefix cache, raised on the engine thread.</summary>
    public event Action<BlockHash, bool>? BlockEvent
    {
        add => _model.Kv.Pool.BlockEvent += value;
        remove => _model.Kv.Pool.BlockEvent -= value;
    }

    /// <summary>The hashes of every block in the prefix cache now (a snapshot for a new subscriber).</summary>
    public Task<BlockHash[]> CachedBlocksAsync() => _inbox.Call(() => _model.Kv.Pool.CachedHashes());

    /// <summary>Runs <paramref name="query"/> on the engine thread between steps (tests and diagnostics).</summary>
    public Task<T> InspectAsync<T>(Func<KvCacheManager, T> query) => _inbox.Call(() => query(_model.Kv));

    internal void Post(Action command) => _inbox.Post(command);

    /// <summary>Steps completed so far (engine thread writes, anyone may read).</summary>
    internal long CompletedSteps => Volatile.Read(ref _steps);

    /// <summary>Steps that ran between the last abort request and its application (0 or 1 by design).</summary>
    internal long LastAbortLagSteps { get; private set; }

    internal void AbortNow(RequestState state)
    {
        long requestedAt = Volatile.Read(ref state.AbortRequestedAtStep);
        if (requestedAt >= 0 && state.Unfinished > 0) LastAbortLagSteps = _steps - requestedAt;
        _requests.Abort(state);
    }

    private void Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            _inbox.RunPosted();
            _connector.Poll();
            if (_scheduler.RunningCount == 0 && _scheduler.WaitingCount == 0)
            {
                _stats = Snapshot();
                try { _inbox.Wait(_connector.NextDue, _stop.Token); }
                catch (OperationCanceledException) { break; }
                continue;
            }
            Step();
            _stats = Snapshot();
        }
        _inbox.RunPosted();
        _requests.AbortAll();
    }

    private void Step()
    {
        var plan = _scheduler.Schedule();
        if (plan.Count == 0)
        {
            // Nothing fits even with an empty cache: fail the head of the queue instead of spinning.
            if (_scheduler.RunningCount == 0) _requests.FailFirstWaiting();
            return;
        }
        _batch.Build(plan);
        ReadOnlySpan<float> logits;
        // Masks that are not cached yet are built while the dense graphs run.
        var masks = _grammars.Prepare(_batch.Sampling);
        try
        {
            logits = _model.Runner.Forward(_batch.Tokens, _batch.Attention, _model.Attention, _batch.LogitRows);
            masks?.Wait();
        }
        catch (Exception e)
        {
            // A failed step must not take the server down: fail what was in it, keep serving the rest.
            _log.LogError(e, "Engine step failed; its {Count} sequence(s) end with an error and the engine keeps serving", plan.Count);
            foreach (var chunk in plan)
                if (!chunk.Sequence.IsFinished) _requests.End(chunk.Sequence, FinishReason.Error);
            return;
        }
        Volatile.Write(ref _steps, _steps + 1);
        _promptTokens += _batch.PromptTokens;
        _scheduler.Computed();
        _connector.BeforeSampling(_batch.Sampling);
        _outputs.Process(plan, _batch, logits);
        _connector.CompleteExports();
        _observer.TokensComputed(_batch.PromptTokens, _batch.Sampling.Count);
    }

    private EngineStats Snapshot()
    {
        var pool = _model.Kv.Pool;
        return new EngineStats(_scheduler.RunningCount + _scheduler.Reserved, _scheduler.WaitingCount + _connector.PendingImports + _inbox.Count, pool.NumBlocks,
            pool.FreeCount, _model.Kv.Spec.BlockSize, _model.Kv.PrefixQueryTokens, _model.Kv.PrefixHitTokens, _scheduler.Preemptions, _steps, _promptTokens,
            _outputs.GeneratedTokens);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _inbox.Wake();
        await Task.Run(() => _thread.Join());
        _stop.Dispose();
    }

    private sealed class NullObserver : IEngineObserver;
}
