using System.Collections.Concurrent;
using InferServe.Backend;
using InferServe.Engine.Runner;
using InferServe.ModelGen;
using InferServe.Models;
using InferServe.Onnx;
using InferServe.TestSupport;

namespace InferServe.Engine.Tests;

/// <summary>Tests that need ONNX Runtime's shared pool to themselves (no engine of another test running on it).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OrtPoolAlone
{
    public const string Name = "ORT pool alone";
}

/// <summary>Host work handed to ONNX Runtime's intra-op pool through the host custom op.</summary>
[Collection(OrtPoolAlone.Name)]
public class HostParallelForTests
{
    private static OrtHostParallelFor Create() => Create(out _);

    private static OrtHostParallelFor Create(out OrtBackend backend)
    {
        backend = new OrtBackend(new BackendOptions());
        var model = HostGraphs.SingleOp(OrtHostParallelFor.Domain, OrtHostParallelFor.OpType, OrtHostParallelFor.InputName, OrtHostParallelFor.OutputName);
        var host = OrtHostParallelFor.TryCreate(backend, model, out var whyNot);
        Assert.True(host is not null, $"The host op could not load: {whyNot}");
        return host;
    }

    [Fact]
    public void EveryIndexRunsExactlyOnceOnEveryCall()
    {
        using var host = Create();
        foreach (int count in new[] { 1, 2, 7, 96, 1000 })
        {
            var hits = new int[count];
            host.For(count, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void WorkRunsOnOrtThreadsBesidesTheCaller()
    {
        using var host = Create(out var backend);
        var threads = new ConcurrentDictionary<int, bool>();
        // Items long enough that the pool's other worker takes some of them.
        host.For(64, _ =>
        {
            threads.TryAdd(Environment.CurrentManagedThreadId, true);
            Thread.SpinWait(20_000);
        });
        Assert.True(backend.Threads == 1 || threads.Count > 1, $"all items ran on {threads.Count} thread(s) of a {backend.Threads}-thread pool");
    }

    [Fact]
    public void AnExceptionInAnItemSurfacesOnTheCallerAndTheHostKeepsWorking()
    {
        using var host = Create();
        var error = Assert.Throws<AggregateException>(() => host.For(10, i =>
        {
            if (i == 3) throw new InvalidOperationException("item 3 failed");
        }));
        Assert.Contains("item 3 failed", error.InnerException!.Message);
        int sum = 0;
        host.For(10, i => Interlocked.Add(ref sum, i));
        Assert.Equal(45, sum);
    }
}

/// <summary>Where the runner sends attention's work: ORT's pool on CPU unless told otherwise.</summary>
public class RunnerHostParallelTests
{
    private static ModelRunner Runner(bool onOrtThreads)
    {
        using var ckpt = CheckpointLoader.Open(TinyModels.Path(ModelSpec.Tiny));
        return new ModelRunner(ckpt, new RunnerOptions { CacheDir = TestPaths.GraphCacheDir, MaxBatchTokens = 16, MaxSeqs = 4, HostWorkOnOrtThreads = onOrtThreads });
    }

    [Fact]
    public void OnCpuTheRunnerOffersOrtsOwnPool()
    {
        using var runner = Runner(onOrtThreads: true);
        Assert.IsType<OrtHostParallelFor>(runner.HostParallel);
    }

    [Fact]
    public void AttentionThreadsDotnetKeepsTheDotnetPool()
    {
        using var runner = Runner(onOrtThreads: false);
        Assert.IsType<ThreadPoolParallelFor>(runner.HostParallel);
    }
}
