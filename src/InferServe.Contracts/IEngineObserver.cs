namespace InferServe.Contracts;

/// <summary>Engine events for metrics and logs. Called on the engine loop thread: keep handlers cheap.</summary>
public interface IEngineObserver
{
    void RequestQueued() { }
    void FirstToken(TimeSpan timeToFirstToken, TimeSpan queueTime) { }
    void InterTokenLatency(TimeSpan latency) { }
    void TokensComputed(int promptTokens, int generationTokens) { }
    void RequestFinished(string requestId, FinishReason reason, TimeSpan endToEnd, int promptTokens, int generationTokens, int cachedTokens) { }
    void Preempted() { }
    void PrefixCacheLookup(int queriedTokens, int hitTokens) { }
    /// <summary>A structured output's mask was first narrowed so that it can close within its token budget (once per choice).</summary>
    void StructuredOutputBudgetClose() { }
}

/// <summary>A consistent snapshot of the engine's state, refreshed every step.</summary>
public sealed record EngineStats(
    int Running,
    int Waiting,
    int TotalBlocks,
    int FreeBlocks,
    int BlockSize,
    long PrefixQueryTokens,
    long PrefixHitTokens,
    long Preemptions,
    long Steps,
    long PromptTokens,
    long GenerationTokens)
{
    public double KvUsage => TotalBlocks == 0 ? 0 : 1 - (double)FreeBlocks / TotalBlocks;
}
