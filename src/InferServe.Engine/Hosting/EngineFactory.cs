using System.Globalization;
using InferServe.Backend;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Engine.Scheduling;
using InferServe.Models;
using InferServe.Onnx;
using InferServe.Tokenization;

namespace InferServe.Engine.Hosting;

/// <summary>A started engine plus what the edges need to know about its model.</summary>
public sealed class LoadedEngine(LlmEngine engine, string modelPath, string? modelDirectory) : IAsyncDisposable
{
    public LlmEngine Engine { get; } = engine;
    public string ModelPath { get; } = modelPath;
    /// <summary>HF directory (tokenizer_config.json, chat template), or null for llama2.c.</summary>
    public string? ModelDirectory { get; } = modelDirectory;
    public ValueTask DisposeAsync() => Engine.DisposeAsync();
}

public static class EngineFactory
{
    public static LoadedEngine Create(EngineSettings s, IEngineObserver? observer = null, Action<string>? log = null)
    {
        if (string.IsNullOrWhiteSpace(s.Model)) throw new ArgumentException("No model given: set --model (a Hugging Face directory or a llama2.c .bin).");
        if (s.MaxSeqs < 1) throw new ArgumentException("--max-seqs must be at least 1.");
        if (s.MaxBatchedTokens < 1) throw new ArgumentException("--max-batched-tokens must be at least 1.");
        if (s.MaxQueue < 1) throw new ArgumentException("--max-queue must be at least 1.");
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
                CacheSaltBase = ckpt.Fingerprint + "|" + weights,
            },
            observer,
            stopAtBos: ckpt.StopsAtBos);
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
