using System.Diagnostics;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using InferServe.Metrics;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Loads the engine in the background with the metrics observer attached, and logs (and records) the outcome.</summary>
internal sealed class ModelLifecycle(ModelHost host, EngineMetrics metrics, IEngineObserver observer, ILogger log)
{
    /// <summary>Starts the load; the returned task completes after the outcome is logged.</summary>
    public Task StartLoading()
    {
        var started = Stopwatch.GetTimestamp();
        log.LogInformation("Loading model {Model}", host.ModelPath);
        _ = host.StartLoading(new ModelLoadContext(observer, m => log.LogInformation("{LoadMessage}", m), log));
        return host.WhenLoaded.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
            {
                OnLoaded(t.Result, Stopwatch.GetElapsedTime(started));
            }
            else
            {
                // The reason on one line; the stack trace only at debug level (the reason names the fix).
                var e = t.Exception?.InnerException;
                log.LogError("Model load failed: {Reason}", e?.Message);
                log.LogDebug(e, "Model load failure detail");
            }
        }, TaskScheduler.Default);
    }

    private void OnLoaded(LoadedModel loaded, TimeSpan elapsed)
    {
        if (loaded.LocalCache is not { } cache)
        {
            log.LogInformation("Routing to workers; ready once a prefill and a decode worker answer");
            return;
        }
        var facts = loaded.Service.Facts;
        metrics.SetCacheConfig(new CacheConfigInfo(facts.KvBlockSize, cache.DType, facts.KvTotalBlocks,
            EnablePrefixCaching: cache.PrefixCaching));
        log.LogInformation("Model ready in {ElapsedSeconds:F2}s: context {MaxContext}, {Blocks} KV blocks of {BlockSize} tokens",
            elapsed.TotalSeconds, facts.MaxContext, facts.KvTotalBlocks, facts.KvBlockSize);
    }
}
