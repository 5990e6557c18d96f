using InferServe.Contracts;
using InferServe.Engine;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.ModelGen;
using InferServe.Models;
using InferServe.Onnx;
using InferServe.Tokenization;

namespace InferServe.TestSupport;

/// <summary>Builds real engines over generated or shared models for tests.</summary>
public static class Engines
{
    public sealed record Setup(
        ModelSpec? Spec = null,
        string? ModelPath = null,
        KvDType KvDType = KvDType.Fp32,
        long KvBytes = 32 << 20,
        int MaxBatchedTokens = 256,
        int MaxSeqs = 48,
        int MaxQueue = 1024,
        WeightPrecision Weights = WeightPrecision.Fp32,
        double LeaseSeconds = 30,
        bool StepGraph = false);

    public static LlmEngine Create(Setup setup)
    {
        var path = setup.ModelPath ?? TinyModels.Path(setup.Spec ?? ModelSpec.Tiny);
        using var ckpt = CheckpointLoader.Open(path);
        var model = new ModelInstance(ckpt,
            new RunnerOptions
            {
                Graphs = new GraphOptions { Precision = setup.Weights },
                MaxBatchTokens = setup.MaxBatchedTokens,
                MaxSeqs = setup.MaxSeqs,
                CacheDir = TestPaths.GraphCacheDir,
                StepGraph = setup.StepGraph,
            },
            new KvCacheOptions { DType = setup.KvDType, MemoryBytes = setup.KvBytes });
        var tokenizer = TokenizerLoader.Load(ckpt.TokenizerPath ?? throw new InvalidOperationException("model has no tokenizer"));
        return new LlmEngine(model, tokenizer,
            new EngineOptions
            {
                Scheduler = new SchedulerOptions { MaxBatchedTokens = setup.MaxBatchedTokens, MaxSeqs = setup.MaxSeqs },
                MaxQueue = setup.MaxQueue,
                KvLeaseTime = TimeSpan.FromSeconds(setup.LeaseSeconds),
            },
            stopAtBos: ckpt.StopsAtBos);
    }

    /// <summary>Runs a request to completion; returns each choice's token ids and finish reason.</summary>
    public static async Task<(int[] Tokens, string Text, FinishReason Finish)[]> RunAsync(LlmEngine engine, GenerationRequest request, CancellationToken ct = default)
    {
        var tokens = Enumerable.Range(0, request.N).Select(_ => new List<int>()).ToArray();
        var text = Enumerable.Range(0, request.N).Select(_ => new System.Text.StringBuilder()).ToArray();
        var finish = new FinishReason[request.N];
        await foreach (var e in engine.GenerateAsync(request, ct))
        {
            tokens[e.Index].AddRange(e.TokenIds);
            text[e.Index].Append(e.TextDelta);
            if (e.Finish is { } f) finish[e.Index] = f;
        }
        return Enumerable.Range(0, request.N).Select(i => (tokens[i].ToArray(), text[i].ToString(), finish[i])).ToArray();
    }

    public static int[] RandomPrompt(int length, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => rng.Next(0, vocab - 8)).ToArray();
    }
}
