using System.Collections.Concurrent;
using InferServe.Engine;
using InferServe.Contracts.Hosting;
using InferServe.Engine.Hosting;
using InferServe.ModelGen;
using InferServe.Tests.Support;

namespace InferServe.Api.Grpc.Tests.Infrastructure;

/// <summary>Records how each engine request finished (by request id).</summary>
public sealed class FinishRecorder : IEngineObserver
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<FinishReason>> _finished = new();

    public void RequestFinished(string requestId, FinishReason reason, TimeSpan endToEnd, int promptTokens, int generationTokens, int cachedTokens) =>
        Slot(requestId).TrySetResult(reason);

    /// <summary>How <paramref name="requestId"/> finished, waiting at most <see cref="TestEngine.Timeout"/>.</summary>
    public Task<FinishReason> FinishedAsync(string requestId) => Slot(requestId).Task.WaitAsync(TestEngine.Timeout);

    private volatile ManualResetEventSlim? _hold;

    /// <summary>
    /// Holds the engine thread at the end of its next step (the first step of the next request) until the returned
    /// handle is disposed: a request is then mid-generation for as long as a test needs, however fast the machine.
    /// </summary>
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

    public void TokensComputed(int promptTokens, int generationTokens) => _hold?.Wait();

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }

    private TaskCompletionSource<FinishReason> Slot(string requestId) =>
        _finished.GetOrAdd(requestId, _ => new TaskCompletionSource<FinishReason>(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>One engine over the generated tiny model, shared by every test in the assembly (tests run serially).</summary>
public static class TestEngine
{
    /// <summary>Upper bound for any wait in a test, so a bug fails the test instead of hanging it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly Lazy<(LoadedModel Engine, FinishRecorder Recorder)> Shared = new(() => Create());

    public static LoadedModel Engine => Shared.Value.Engine;

    public static FinishRecorder Recorder => Shared.Value.Recorder;

    public static (LoadedModel Engine, FinishRecorder Recorder) Create(int maxSeqs = 8, int maxQueue = 64)
    {
        var recorder = new FinishRecorder();
        var settings = new EngineSettings
        {
            Model = TinyModels.Path(ModelSpec.Tiny),
            KvCacheMemory = "16MiB",
            MaxSeqs = maxSeqs,
            MaxBatchedTokens = 256,
            MaxQueue = maxQueue,
            Threads = 1,
            CacheDir = TestPaths.GraphCacheDir,
        };
        return (EngineFactory.Create(settings, recorder), recorder);
    }

    /// <summary>
    /// Waits until the engine holds no request and every KV block is free again: the event itself, however long a loaded
    /// machine takes to get there, bounded only by <see cref="Timeout"/> so a leak fails instead of hanging.
    /// </summary>
    public static async Task AssertAllBlocksFreedAsync(LlmEngine engine)
    {
        var within = Timeout;
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var stats = engine.Stats;
            if (stats.FreeBlocks == stats.TotalBlocks && stats.Running == 0 && stats.Waiting == 0)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline,
                $"KV blocks not freed within {within}: {stats.FreeBlocks}/{stats.TotalBlocks} free, {stats.Running} running, {stats.Waiting} waiting.");
            await Task.Delay(10);
        }
    }
}
