using InferServe.Backend;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Models;
using InferServe.Onnx;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging;

namespace InferServe.Engine.Hosting;

/// <summary>Stands up the local engine (ONNX Runtime) from <see cref="EngineSettings"/>; the CLI's roles call it.</summary>
public static class EngineFactory
{
    public static LoadedModel Create(EngineSettings s, IEngineObserver? observer = null, Action<string>? log = null, ILogger? engineLogger = null)
    {
        if (string.IsNullOrWhiteSpace(s.Model)) throw new ArgumentException("No model given: set --model (a Hugging Face directory or a llama2.c .bin).");
        if (s.MaxSeqs < 1) throw new ArgumentException("--max-seqs must be at least 1.");
        if (s.MaxBatchedTokens < 1) throw new ArgumentException("--max-batched-tokens must be at least 1.");
        if (s.MaxQueue < 1) throw new ArgumentException("--max-queue must be at least 1.");
        if (!(s.KvLeaseSeconds > 0)) throw new ArgumentException("--kv-lease-seconds must be positive.");
        if (s.BlockSize is < 1 or > 1024) throw new ArgumentException("--block-size must be between 1 and 1024.");
        var kvDtype = KvCacheSpec.ParseDType(s.KvDtype);
        var weights = GraphOptions.ParsePrecision(s.Weights);
        long kvBytes = ByteSize.Parse(s.KvCacheMemory);
        bool attentionOnOrt = s.AttentionThreads.ToLowerInvariant() switch
        {
            "ort" => true,
            "dotnet" => false,
            _ => throw new ArgumentException($"Unknown --attention-threads '{s.AttentionThreads}'; use ort or dotnet."),
        };

        using var ckpt = CheckpointLoader.Open(s.Model, s.Tokenizer);
        var tokenizerPath = s.Tokenizer ?? ckpt.TokenizerPath
            ?? throw new ArgumentException($"No tokenizer found for '{s.Model}'; pass --tokenizer (tokenizer.json directory or llama2.c tokenizer .bin).");
        var tokenizer = TokenizerLoader.Load(tokenizerPath);
        var model = new ModelInstance(ckpt,
            new RunnerOptions
            {
                Graphs = new GraphOptions { Precision = weights, BlockSize = s.WeightBlockSize, AccuracyLevel = s.AccuracyLevel },
                Backend = new BackendOptions { Device = s.Device, Threads = s.Threads, AllowSpinning = s.OrtSpinning },
                MaxBatchTokens = s.MaxBatchedTokens,
                MaxSeqs = s.MaxSeqs,
                CacheDir = s.CacheDir,
                HostWorkOnOrtThreads = attentionOnOrt,
                StepGraph = s.StepGraph,
            },
            new KvCacheOptions { DType = kvDtype, BlockSize = s.BlockSize, MemoryBytes = kvBytes, PrefixCaching = s.PrefixCaching },
            log);
        var engine = new LlmEngine(model, tokenizer,
            new EngineOptions
            {
                Scheduler = new SchedulerOptions { MaxBatchedTokens = s.MaxBatchedTokens, MaxSeqs = s.MaxSeqs, PriorityAgingSeconds = s.PriorityAgingSeconds },
                MaxQueue = s.MaxQueue,
                KvLeaseTime = TimeSpan.FromSeconds(s.KvLeaseSeconds),
                CacheSaltBase = ckpt.Fingerprint + "|" + weights,
            },
            observer,
            stopAtBos: ckpt.StopsAtBos,
            logger: engineLogger);
        return new LoadedModel(engine, s.Model, ckpt.ModelDirectory, engine, new LocalKvCache(s.KvDtype.ToLowerInvariant(), s.PrefixCaching));
    }

    /// <summary>A host that loads a local engine from <paramref name="settings"/> in the background.</summary>
    public static ModelHost Host(EngineSettings settings, string servedModelName) =>
        new(servedModelName, settings.Model, c => Create(settings, c.Observer, c.Progress, c.Logger));

    /// <summary>The local engine behind <paramref name="model"/>; a gateway that routes to workers has none.</summary>
    public static LlmEngine LocalEngine(this LoadedModel model) =>
        model.Service as LlmEngine ?? throw new InvalidOperationException("This process routes to workers; it has no local engine.");
}
