using System.Globalization;
using InferServe.Backend;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Engine.Scheduling;
using InferServe.Models;
using InferServe.Onnx;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging;

namespace InferServe.Engine.Hosting;

/// <summary>
/// A ready generation service plus what the edges need to know about its model: a local engine
/// (<c>--role all</c> and the workers) or the router of a gateway.
/// </summary>
public sealed class LoadedEngine : IAsyncDisposable
{
    private readonly LlmEngine? _engine;
    private readonly IAsyncDisposable? _owned;

    public LoadedEngine(LlmEngine engine, string modelPath, string? modelDirectory)
        : this((IGenerationService)engine, modelPath, modelDirectory, engine) => _engine = engine;

    public LoadedEngine(IGenerationService service, string modelPath, string? modelDirectory, IAsyncDisposable? owned = null)
    {
        Service = service;
        ModelPath = modelPath;
        ModelDirectory = modelDirectory;
        _owned = owned;
    }

    /// <summary>What the API edges talk to.</summary>
    public IGenerationService Service { get; }
    /// <summary>The local engine; a gateway that routes to workers has none.</summary>
    public LlmEngine Engine => _engine ?? throw new InvalidOperationException("This process routes to workers; it has no local engine.");
    public bool IsLocal => _engine is not null;
    public string ModelPath { get; }
    /// <summary>HF directory (tokenizer_config.json, chat template), or null for llama2.c.</summary>
    public string? ModelDirectory { get; }
    public ValueTask DisposeAsync() => _owned?.DisposeAsync() ?? ValueTask.CompletedTask;
}

public static class EngineFactory
{
    public static LoadedEngine Create(EngineSettings s, IEngineObserver? observer = null, Action<string>? log = null, ILogger? engineLogger = null)
    {
        if (string.IsNullOrWhiteSpace(s.Model)) throw new ArgumentException("No model given: set --model (a Hugging Face directory or a llama2.c .bin).");
        if (s.MaxSeqs < 1) throw new ArgumentException("--max-seqs must be at least 1.");
        if (s.MaxBatchedTokens < 1) throw new ArgumentException("--max-batched-tokens must be at least 1.");
        if (s.MaxQueue < 1) throw new ArgumentException("--max-queue must be at least 1.");
        if (!(s.KvLeaseSeconds > 0)) throw new ArgumentException("--kv-lease-seconds must be positive.");
        if (s.BlockSize is < 1 or > 1024) throw new ArgumentException("--block-size must be between 1 and 1024.");
        var kvDtype = KvCacheSpec.ParseDType(s.KvDtype);
        var weights = GraphOptions.ParsePrecision(s.Weights);
        long kvBytes = ParseBytes(s.KvCacheMemory);
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
        return new LoadedEngine(engine, s.Model, ckpt.ModelDirectory);
    }

    public static long ParseBytes(string text)
    {
        var t = text.Trim();
        int i = 0;
        while (i < t.Length && (char.IsDigit(t[i]) || t[i] == '.')) i++;
        if (i == 0 || !double.TryParse(t[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number <= 0)
            throw new ArgumentException($"'{text}' is not a size; use e.g. 512MiB or 2GiB.");
        long unit = t[i..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => throw new ArgumentException($"'{text}' has an unknown size unit; use B, KiB, MiB, GiB or TiB."),
        };
        return (long)(number * unit);
    }
}
