using InferServe.Contracts;
using InferServe.Metrics;

namespace InferServe.Server;

/// <summary>Feeds engine events into the Prometheus metric set. Runs on the engine thread: each call is a few interlocked operations.</summary>
public sealed class MetricsObserver(EngineMetrics metrics) : IEngineObserver
{
    public EngineMetrics Metrics { get; } = metrics;

    public void FirstToken(TimeSpan timeToFirstToken, TimeSpan queueTime)
    {
        Metrics.RecordFirstToken(timeToFirstToken);
        Metrics.RequestScheduled(queueTime);
    }

    public void InterTokenLatency(TimeSpan latency) => Metrics.RecordInterTokenLatency(latency);
    public void TokensComputed(int promptTokens, int generationTokens) => Metrics.RecordTokens(promptTokens, generationTokens);

    public void RequestFinished(string requestId, FinishReason reason, TimeSpan endToEnd, int promptTokens, int generationTokens, int cachedTokens) =>
        Metrics.RequestFinished(reason switch
        {
            FinishReason.Stop => FinishedReason.Stop,
            FinishReason.Length => FinishedReason.Length,
            FinishReason.Abort => FinishedReason.Abort,
            _ => FinishedReason.Error,
        }, endToEnd, promptTokens, generationTokens);

    public void Preempted() => Metrics.RecordPreemption();
    public void StructuredOutputBudgetClose() => Metrics.RecordStructuredOutputBudgetClose();

    public void PrefixCacheLookup(int queriedTokens, int hitTokens)
    {
        if (queriedTokens >= 0 && hitTokens >= 0 && hitTokens <= queriedTokens) Metrics.RecordPrefixCacheLookup(queriedTokens, hitTokens);
    }
}
