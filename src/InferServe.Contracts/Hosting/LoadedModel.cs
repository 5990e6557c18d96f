
namespace InferServe.Contracts.Hosting;

/// <summary>
/// A ready generation service plus what the edges need to know about its model: a local engine
/// (<c>--role all</c> and the workers) or the router of a gateway. Engine-agnostic, so the edges need no ONNX Runtime.
/// </summary>
public sealed class LoadedModel(IGenerationService service, string modelPath, string? modelDirectory, IAsyncDisposable? owned = null,
    LocalKvCache? localCache = null) : IAsyncDisposable
{
    /// <summary>What the API edges talk to.</summary>
    public IGenerationService Service { get; } = service;
    public string ModelPath { get; } = modelPath;
    /// <summary>HF directory (tokenizer_config.json, chat template), or null for llama2.c.</summary>
    public string? ModelDirectory { get; } = modelDirectory;
    /// <summary>The KV cache of a local engine; null when this process routes to workers.</summary>
    public LocalKvCache? LocalCache { get; } = localCache;
    public bool IsLocal => LocalCache is not null;

    public ValueTask DisposeAsync() => owned?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>How a local engine stores its KV cache, for the cache-config metric.</summary>
public sealed record LocalKvCache(string DType, bool PrefixCaching);
