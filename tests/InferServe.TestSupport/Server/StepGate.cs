using System.Collections.Concurrent;
using InferServe.Contracts;

namespace InferServe.TestSupport.Server;

/// <summary>
/// An engine observer in front of another (the server's own, or none): forwards every event, records how each request
/// finished, and can hold the engine thread at the end of its next step until released. A request is then in flight for
/// as long as a test needs, however fast or loaded the machine, with nothing on the wire for a server timeout to drop.
/// </summary>
public sealed class StepGate(IEngineObserver? inner = null) : IEngineObserver
{
    private volatile ManualResetEventSlim? _hold;
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<FinishReason>> _finished = new();

    /// <summary>Completes once the engine thread is held.</summary>
    public Task Holding => _holding.Task;

    /// <summary>Holds the engine after its next step until the returned handle is disposed.</summary>
    public IDisposable HoldNextStep()
    {
        var gate = new ManualResetEventSlim(false);
        _hold = gate;
        return new Release(() =>
        {
            _hold = null;
            gate.Set();
        });
    }

    /// <summary>How <paramref name="requestId"/> finished, waiting at most <paramref name="within"/> (default <see cref="Eventually.Generous"/>).</summary>
    public Task<FinishReason> FinishedAsync(string requestId, TimeSpan? within = null) =>
        Slot(requestId).Task.WaitAsync(within ?? InferServe.TestSupport.Eventually.Generous);

    public void TokensComputed(int promptTokens, int generationTokens)
    {
        inner?.TokensComputed(promptTokens, generationTokens);
        if (_hold is { } gate)
        {
            _holding.TrySetResult();
            gate.Wait();
        }
    }

    public void RequestFinished(string requestId, FinishReason reason, TimeSpan endToEnd, int promptTokens, int generationTokens, int cachedTokens)
    {
        inner?.RequestFinished(requestId, reason, endToEnd, promptTokens, generationTokens, cachedTokens);
        Slot(requestId).TrySetResult(reason);
    }

    public void RequestQueued() => inner?.RequestQueued();
    public void FirstToken(TimeSpan timeToFirstToken, TimeSpan queueTime) => inner?.FirstToken(timeToFirstToken, queueTime);
    public void InterTokenLatency(TimeSpan latency) => inner?.InterTokenLatency(latency);
    public void Preempted() => inner?.Preempted();
    public void PrefixCacheLookup(int queriedTokens, int hitTokens) => inner?.PrefixCacheLookup(queriedTokens, hitTokens);
    public void StructuredOutputBudgetClose() => inner?.StructuredOutputBudgetClose();

    private TaskCompletionSource<FinishReason> Slot(string requestId) =>
        _finished.GetOrAdd(requestId, _ => new TaskCompletionSource<FinishReason>(TaskCreationOptions.RunContinuationsAsynchronously));

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
