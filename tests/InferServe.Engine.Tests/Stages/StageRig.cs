using System.Diagnostics;
using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;
using InferServe.Engine.Output;
using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;
using InferServe.Engine.Scheduling;
using InferServe.ModelGen;
using InferServe.Models;
using InferServe.TestSupport;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferServe.Engine.Tests.Stages;

/// <summary>
/// The engine's stages wired as <see cref="LlmEngine"/> wires them, over the generated tiny model (byte-level tokenizer:
/// every byte is a token), but stepped by the test on its own thread, so a test drives one stage and reads the others.
/// </summary>
internal sealed class StageRig : IDisposable
{
    private float[] _steered = [];

    public ModelInstance Model { get; }
    public ITokenizer Tokenizer { get; }
    public HashSet<int> Eos { get; }
    public Scheduler Scheduler { get; }
    public GrammarMasks Grammars { get; }
    public RequestTable Requests { get; }
    public BatchBuilder Batch { get; }
    public OutputProcessor Outputs { get; }
    public EngineInbox Inbox { get; } = new();
    public LeaseKvConnector Connector { get; }
    public KvCacheManager Kv => Model.Kv;
    public int Vocab => Model.Config.VocabSize;

    public StageRig(int maxBatchedTokens = 64, int maxSeqs = 8, long kvBytes = 1 << 20, int maxQueue = 16, bool stepGraph = false)
    {
        var path = TinyModels.Path(ModelSpec.Tiny);
        using (var ckpt = CheckpointLoader.Open(path))
        {
            Model = new ModelInstance(ckpt, new RunnerOptions { MaxBatchTokens = maxBatchedTokens, MaxSeqs = maxSeqs, CacheDir = TestPaths.GraphCacheDir, StepGraph = stepGraph },
                new KvCacheOptions { MemoryBytes = kvBytes });
            Tokenizer = TokenizerLoader.Load(ckpt.TokenizerPath!);
        }
        Eos = [.. Model.Config.EosTokenIds, .. Tokenizer.EosTokenIds];
        var options = new EngineOptions { Scheduler = new SchedulerOptions { MaxBatchedTokens = maxBatchedTokens, MaxSeqs = maxSeqs }, MaxQueue = maxQueue };
        var observer = new Observer();
        Scheduler = new Scheduler(options.Scheduler, Model.Kv);
        Grammars = new GrammarMasks(Tokenizer, Vocab, Eos, Model.MaxContext);
        Requests = new RequestTable(Scheduler, Model.Kv, Grammars, Tokenizer, observer, options, NullLogger.Instance);
        Batch = new BatchBuilder(maxBatchedTokens, maxSeqs);
        Outputs = new OutputProcessor(Model.Runner, Scheduler, Model.Kv, Requests, Grammars, Tokenizer, Eos, Model.MaxContext, observer);
        Connector = new LeaseKvConnector(Model.Kv, Model.Storage, Scheduler, Requests, maxSeqs, TimeSpan.FromSeconds(30), Inbox.Post, NullLogger.Instance);
    }

    /// <summary>The byte-level token of a one-character string.</summary>
    public int TokenOf(char c) => Tokenizer.Encode(c.ToString(), addSpecialTokens: false).Single();

    public static int[] Prompt(int length, int seed) => Engines.RandomPrompt(length, 512, seed);

    public RequestState Admit(GenerationRequest spec, TaskCompletionSource<PrefillResult>? export = null)
    {
        var state = new RequestState(spec, Stopwatch.GetTimestamp()) { Export = export };
        Assert.True(Requests.TryQueue());
        Requests.Admit(state);
        return state;
    }

    /// <summary>
    /// One step in the engine's order. <paramref name="steer"/> names the token a sampling sequence should get: it is
    /// lifted far above the rest of the model's row (greedy requests then pick it unless a mask or min_tokens forbids it).
    /// </summary>
    public List<ScheduledChunk> Step(Func<Sequence, int>? steer = null)
    {
        Inbox.RunPosted();
        Connector.Poll();
        var plan = Scheduler.Schedule();
        Batch.Build(plan);
        Grammars.Prepare(Batch.Sampling)?.Wait();
        var logits = Model.Runner.Forward(Batch.Tokens, Batch.Attention, Model.Attention, Batch.LogitRows);
        Scheduler.Computed();
        if (steer is not null) logits = Steer(logits, steer);
        Connector.BeforeSampling(Batch.Sampling);
        Outputs.Process(plan, Batch, logits);
        Connector.CompleteExports();
        return [.. plan];
    }

    private ReadOnlySpan<float> Steer(ReadOnlySpan<float> logits, Func<Sequence, int> steer)
    {
        if (_steered.Length < logits.Length) _steered = new float[logits.Length];
        logits.CopyTo(_steered);
        for (int r = 0; r < Batch.Sampling.Count; r++)
        {
            var row = _steered.AsSpan(r * Vocab, Vocab);
            row[steer(Batch.Sampling[r])] = System.Numerics.Tensors.TensorPrimitives.Max(row) + 20;
        }
        return _steered.AsSpan(0, logits.Length);
    }

    /// <summary>
    /// Steps until the request's stream completes; returns every event it got. With nothing to schedule it waits for
    /// work posted from other threads (a transfer ending), as the engine's loop does.
    /// </summary>
    public List<GenerationEvent> RunToEnd(RequestState state, Func<Sequence, int>? steer = null, int maxSteps = 200)
    {
        var events = new List<GenerationEvent>();
        var reader = state.Events.Reader;
        int steps = 0;
        // The stream's completion shows only once its events are read.
        for (events.AddRange(Events(state)); !reader.Completion.IsCompleted; events.AddRange(Events(state)))
        {
            if (Scheduler.RunningCount + Scheduler.WaitingCount == 0)
            {
                Inbox.Wait(TimeSpan.FromSeconds(5), CancellationToken.None);
                Inbox.RunPosted();
                Connector.Poll();
                continue;
            }
            Assert.True(++steps <= maxSteps, $"the request did not finish in {maxSteps} steps");
            Step(steer);
        }
        return events;
    }

    public static List<GenerationEvent> Events(RequestState state)
    {
        var events = new List<GenerationEvent>();
        while (state.Events.Reader.TryRead(out var e)) events.Add(e);
        return events;
    }

    public void Dispose() => Model.Dispose();

    private sealed class Observer : IEngineObserver;
}
