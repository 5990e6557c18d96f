using InferServe.Engine.Attention;
using InferServe.Engine.Kv;
using InferServe.Models;

namespace InferServe.Engine.Runner;

public sealed record KvCacheOptions
{
    public KvDType DType { get; init; } = KvDType.Fp32;
    public int BlockSize { get; init; } = 16;
    /// <summary>Memory budget for KV blocks, in bytes.</summary>
    public long MemoryBytes { get; init; } = 256L << 20;
    public bool PrefixCaching { get; init; } = true;
}

/// <summary>A runnable model: runner, paged KV cache and the attention kernel over it.</summary>
public sealed class ModelInstance : IDisposable
{
    public ModelRunner Runner { get; }
    public KvCacheManager Kv { get; }
    public KvStorage Storage { get; }
    public IAttentionBackend Attention { get; }
    public ModelConfig Config => Runner.Config;
    public int MaxContext { get; }

    public ModelInstance(ICheckpoint checkpoint, RunnerOptions runner, KvCacheOptions kv, Action<string>? log = null)
    {
        var c = checkpoint.Config;
        var spec = new KvCacheSpec(c.NumLayers, c.NumKvHeads, c.HeadDim, kv.BlockSize, kv.DType);
        int blocks = (int)Math.Min(int.MaxValue, kv.MemoryBytes / spec.BytesPerBlock);
        if (blocks < 1)
            throw new ArgumentException($"KV cache budget of {kv.MemoryBytes} bytes holds no block; one block needs {spec.BytesPerBlock} bytes.");
        Runner = new ModelRunner(checkpoint, runner, log);
        Storage = KvStorage.Create(spec, blocks);
        Kv = new KvCacheManager(spec, blocks, Storage, kv.PrefixCaching);
        MaxContext = c.MaxPositionEmbeddings;
        Attention = new CpuPagedAttention(c, Storage, new RotaryEmbedding(c), parallel: Runner.HostParallel);
        log?.Invoke($"KV cache: {blocks} blocks x {kv.BlockSize} tokens = {blocks * kv.BlockSize} tokens ({kv.DType}, {spec.BytesPerTokenPerLayer * c.NumLayers} bytes/token)");
    }

    public void Dispose()
    {
        Runner.Dispose();
        Storage.Dispose();
    }
}
