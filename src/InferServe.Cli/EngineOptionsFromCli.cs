using InferServe.Engine.Hosting;

namespace InferServe.Cli;

/// <summary>Maps the shared engine options of `generate`, `serve` and `bench` onto <see cref="EngineSettings"/>.</summary>
public static class EngineOptionsFromCli
{
    public static EngineSettings Read(CommandLine cmd, EngineSettings? defaults = null)
    {
        var s = defaults ?? new EngineSettings();
        // Hub ids are resolved later (ModelSource.Finish), once every argument is known to be valid.
        s.Model = ModelSource.ResolvePath(cmd, resolveHub: false) ?? s.Model;
        s.Tokenizer = cmd.Get("tokenizer") ?? s.Tokenizer;
        s.Device = cmd.Get("device") ?? s.Device;
        s.Threads = cmd.GetInt("threads", s.Threads, 0, 1024);
        s.Weights = cmd.Get("weights") ?? s.Weights;
        s.KvDtype = cmd.Get("kv-dtype") ?? s.KvDtype;
        s.WeightBlockSize = cmd.GetInt("weight-block-size", s.WeightBlockSize, 16, 256);
        s.AccuracyLevel = cmd.GetInt("accuracy-level", s.AccuracyLevel, 0, 4);
        s.KvCacheMemory = cmd.Get("kv-cache-memory") ?? s.KvCacheMemory;
        s.BlockSize = cmd.GetInt("block-size", s.BlockSize, 1, 1024);
        s.MaxSeqs = cmd.GetInt("max-seqs", s.MaxSeqs, 1, 4096);
        s.MaxBatchedTokens = cmd.GetInt("max-batched-tokens", s.MaxBatchedTokens, 1, 1 << 20);
        s.MaxQueue = cmd.GetInt("max-queue", s.MaxQueue, 1, 1 << 24);
        if (cmd.Flag("no-prefix-caching")) s.PrefixCaching = false;
        if (cmd.Flag("no-ort-spinning")) s.OrtSpinning = false;
        s.AttentionThreads = cmd.Get("attention-threads") ?? s.AttentionThreads;
        s.PriorityAgingSeconds = cmd.GetFloat("priority-aging-seconds", (float)s.PriorityAgingSeconds, 0f, 1e6f);
        s.CacheDir = cmd.Get("cache-dir") ?? s.CacheDir;
        return s;
    }
}
