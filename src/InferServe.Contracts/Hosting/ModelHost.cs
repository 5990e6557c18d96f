using Microsoft.Extensions.Logging;

namespace InferServe.Contracts.Hosting;

/// <summary>What a model load gets: the observer of engine steps, where progress goes, and the engine's logger.</summary>
public sealed record ModelLoadContext(IEngineObserver? Observer, Action<string>? Progress, ILogger? Logger);

/// <summary>
/// Owns the generation service of a serving process and loads it in the background, so HTTP and gRPC endpoints can
/// come up first (liveness) and report readiness once the model is loaded. What loading means (a local engine, a
/// router) is the composition root's choice, so the edges depend on no engine.
/// </summary>
public sealed class ModelHost(string servedModelName, string? modelPath, Func<ModelLoadContext, LoadedModel> load) : IAsyncDisposable
{
    private readonly TaskCompletionSource<LoadedModel> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The name clients use for the model (OpenAI "model" field).</summary>
    public string ServedModelName { get; } = servedModelName;
    /// <summary>Where the model comes from (--model), for logs and error messages; known before it loads.</summary>
    public string? ModelPath { get; } = modelPath;

    /// <summary>Loads the model (graph build or cache hit, KV allocation) on a background thread.</summary>
    public Task StartLoading(ModelLoadContext context, CancellationToken cancellationToken = default) =>
        Task.Run(() =>
        {
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                _loaded.TrySetResult(load(context));
            }
            catch (Exception e)
            {
                _loaded.TrySetException(e);
            }
        }, CancellationToken.None);

    /// <summary>Uses a model that is already loaded (tests, embedding).</summary>
    public void SetLoaded(LoadedModel model) => _loaded.TrySetResult(model);

    public bool IsReady => _loaded.Task.IsCompletedSuccessfully;
    public Exception? LoadError => _loaded.Task.Exception?.InnerException;
    /// <summary>The model, or null while loading (callers answer 503 / UNAVAILABLE).</summary>
    public LoadedModel? Current => IsReady ? _loaded.Task.Result : null;
    public Task<LoadedModel> WhenLoaded => _loaded.Task;

    public async ValueTask DisposeAsync()
    {
        if (IsReady) await _loaded.Task.Result.DisposeAsync();
    }
}
