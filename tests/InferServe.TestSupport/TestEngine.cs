using InferServe.Contracts.Hosting;
using InferServe.Engine;
using InferServe.Engine.Hosting;
using InferServe.ModelGen;
using InferServe.TestSupport.Server;

namespace InferServe.TestSupport;

/// <summary>
/// Engines as a server loads them (<see cref="EngineFactory"/> from <see cref="EngineSettings"/>) over the generated tiny
/// model; <see cref="Engines"/> builds them from parts instead, for tests that pick KV dtype, weights or leases.
/// </summary>
public static class TestEngine
{
    /// <summary>Upper bound for any wait in a test, so a bug fails the test instead of hanging it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly Lazy<(LoadedModel Engine, StepGate Recorder)> Shared = new(() => Create());

    /// <summary>One engine shared by every test in the assembly (such assemblies run their tests serially).</summary>
    public static LoadedModel Engine => Shared.Value.Engine;

    /// <summary>The shared engine's observer: how requests finished, and a hold on its steps.</summary>
    public static StepGate Recorder => Shared.Value.Recorder;

    /// <summary>The settings of a small engine over the generated tiny model, as the test servers use them.</summary>
    public static EngineSettings TinySettings(string kvCacheMemory = "16MiB", int maxSeqs = 8, int maxQueue = 64) => new()
    {
        Model = TinyModels.Path(ModelSpec.Tiny),
        KvCacheMemory = kvCacheMemory,
        MaxSeqs = maxSeqs,
        MaxBatchedTokens = 256,
        MaxQueue = maxQueue,
        Threads = 1,
        CacheDir = TestPaths.GraphCacheDir,
    };

    public static (LoadedModel Engine, StepGate Recorder) Create(int maxSeqs = 8, int maxQueue = 64)
    {
        var recorder = new StepGate();
        return (EngineFactory.Create(TinySettings(maxSeqs: maxSeqs, maxQueue: maxQueue), recorder), recorder);
    }

    /// <summary>
    /// Waits until the engine holds no request and every KV block is free again: the event itself, however long a loaded
    /// machine takes to get there, bounded only by <see cref="Timeout"/> so a leak fails instead of hanging.
    /// </summary>
    public static Task AssertAllBlocksFreedAsync(LlmEngine engine) =>
        Eventually.WaitUntilAsync(
            () => engine.Stats is var s && s.FreeBlocks == s.TotalBlocks && s.Running == 0 && s.Waiting == 0,
            () => engine.Stats is var s ? $"KV blocks not freed: {s.FreeBlocks}/{s.TotalBlocks} free, {s.Running} running, {s.Waiting} waiting." : "",
            Timeout);
}
