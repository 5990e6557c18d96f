using System.CommandLine;
using InferServe.Engine.Hosting;
using InferServe.Engine.Kv;
using InferServe.Onnx;

namespace InferServe.Cli.Options;

/// <summary>
/// The engine options of `serve`, `generate` and `bench`, declared once. None has a parse-time default: an option not
/// given keeps the caller's value (appsettings.json / INFERSERVE__* for serve), so command-line flags win over config.
/// </summary>
public sealed class EngineOptionSet : List<Option>
{
    private static readonly EngineSettings Defaults = new();

    public ModelOptions Model { get; } = [];
    public Option<string?> Device { get; } = Opt.Text("--device", $"cpu, cuda[:N], ... (default {Defaults.Device})", helpName: "DEVICE");
    public Option<int?> Threads { get; } = Opt.Int("--threads", "ONNX Runtime intra-op threads; 0 = one per core (default 0)", 0, 1024);
    public Option<string?> Weights { get; }
    public Option<string?> KvDtype { get; }
    public Option<int?> WeightBlockSize { get; } = Opt.Int("--weight-block-size", $"int8/int4 weights: quantization block size (default {Defaults.WeightBlockSize})", 16, 256);
    public Option<int?> AccuracyLevel { get; } = Opt.Int("--accuracy-level", $"int8/int4 weights: MatMulNBits accuracy_level, 4 = int8 activations (default {Defaults.AccuracyLevel})", 0, 4);
    public Option<string?> KvCacheMemory { get; } = Opt.Text("--kv-cache-memory", $"KV cache size, e.g. 512MiB, 2GiB (default {Defaults.KvCacheMemory})",
        check: s => InferServe.Contracts.ByteSize.Parse(s), helpName: "SIZE");
    public Option<int?> BlockSize { get; } = Opt.Int("--block-size", $"KV cache block size in tokens (default {Defaults.BlockSize})", 1, 1024);
    public Option<int?> MaxSeqs { get; } = Opt.Int("--max-seqs", $"most sequences in one batch (default {Defaults.MaxSeqs})", 1, 4096);
    public Option<int?> MaxBatchedTokens { get; } = Opt.Int("--max-batched-tokens", $"most tokens in one step (default {Defaults.MaxBatchedTokens})", 1, 1 << 20);
    public Option<int?> MaxQueue { get; } = Opt.Int("--max-queue", $"most waiting requests (default {Defaults.MaxQueue})", 1, 1 << 24);
    public Option<bool> NoPrefixCaching { get; } = Opt.Flag("--no-prefix-caching", "Do not reuse the KV blocks of shared prompt prefixes");
    public Option<bool> NoOrtSpinning { get; } = Opt.Flag("--no-ort-spinning", "ONNX Runtime threads sleep instead of spinning between steps");
    public Option<string?> AttentionThreads { get; }
    public Option<string?> StepGraph { get; } = Opt.Choice("--step-graph",
        $"CPU: one ONNX Runtime run per step (a whole-step graph, attention as a host op) instead of per-layer graphs (default {(Defaults.StepGraph ? "on" : "off")})", ["on", "off"]);
    public Option<double?> PriorityAgingSeconds { get; } = Opt.Float("--priority-aging-seconds", $"a waiting request gains one priority level per this many seconds (default {Defaults.PriorityAgingSeconds})", 0, 1e6);

    /// <param name="sweep">bench: --weights, --kv-dtype and --attention-threads take comma-separated lists, one run each.</param>
    public EngineOptionSet(bool sweep = false)
    {
        string list = sweep ? " (comma-separated: one run per value)" : "";
        Weights = Checked("--weights", $"fp32, int8 or int4{list}", sweep ? "int4" : Defaults.Weights, sweep, s => GraphOptions.ParsePrecision(s));
        KvDtype = Checked("--kv-dtype", $"fp32, fp16, int8 or int4{list}", Defaults.KvDtype, sweep, s => KvCacheSpec.ParseDType(s));
        AttentionThreads = Checked("--attention-threads", $"ort or dotnet: the thread pool attention runs on{list}", Defaults.AttentionThreads, sweep, s =>
        {
            if (s.ToLowerInvariant() is not ("ort" or "dotnet")) throw new ArgumentException(Opt.UnknownChoice("--attention-threads", s, ["ort", "dotnet"]));
        });
        AddRange(Model);
        AddRange([Device, Threads, Weights, KvDtype, WeightBlockSize, AccuracyLevel, KvCacheMemory, BlockSize, MaxSeqs, MaxBatchedTokens, MaxQueue,
            NoPrefixCaching, NoOrtSpinning, AttentionThreads, StepGraph, PriorityAgingSeconds]);
    }

    /// <summary>A sweep shows (and gets) its default at parse time; otherwise the default is the settings' own.</summary>
    private static Option<string?> Checked(string name, string description, string @default, bool sweep, Action<string> parse) => sweep
        ? Opt.List(name, description, @default, parse)
        : Opt.Text(name, $"{description} (default {@default})", check: parse, helpName: "NAME");

    /// <summary>The given options over <paramref name="defaults"/>; a hub id in --model is resolved later (ModelSource.Finish), once every argument is valid.</summary>
    public EngineSettings Read(ParseResult p, EngineSettings? defaults = null)
    {
        var s = defaults ?? new EngineSettings();
        s.Model = Model.ResolvePath(p, resolveHub: false) ?? s.Model;
        s.Tokenizer = p.GetValue(Model.Tokenizer) ?? s.Tokenizer;
        s.CacheDir = p.GetValue(Model.CacheDir) ?? s.CacheDir;
        s.Device = p.GetValue(Device) ?? s.Device;
        s.Threads = p.GetValue(Threads) ?? s.Threads;
        s.Weights = p.GetValue(Weights) ?? s.Weights;
        s.KvDtype = p.GetValue(KvDtype) ?? s.KvDtype;
        s.WeightBlockSize = p.GetValue(WeightBlockSize) ?? s.WeightBlockSize;
        s.AccuracyLevel = p.GetValue(AccuracyLevel) ?? s.AccuracyLevel;
        s.KvCacheMemory = p.GetValue(KvCacheMemory) ?? s.KvCacheMemory;
        s.BlockSize = p.GetValue(BlockSize) ?? s.BlockSize;
        s.MaxSeqs = p.GetValue(MaxSeqs) ?? s.MaxSeqs;
        s.MaxBatchedTokens = p.GetValue(MaxBatchedTokens) ?? s.MaxBatchedTokens;
        s.MaxQueue = p.GetValue(MaxQueue) ?? s.MaxQueue;
        if (p.GetValue(NoPrefixCaching)) s.PrefixCaching = false;
        if (p.GetValue(NoOrtSpinning)) s.OrtSpinning = false;
        s.AttentionThreads = p.GetValue(AttentionThreads) ?? s.AttentionThreads;
        if (p.GetValue(StepGraph) is { } stepGraph) s.StepGraph = stepGraph.Equals("on", StringComparison.OrdinalIgnoreCase);
        s.PriorityAgingSeconds = p.GetValue(PriorityAgingSeconds) ?? s.PriorityAgingSeconds;
        return s;
    }
}
