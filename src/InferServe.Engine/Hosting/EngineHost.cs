using Microsoft.Extensions.Logging;

namespace InferServe.Engine.Hosting;

/// <summary>
/// Owns the engine of a serving process and loads it in the background, so HTTP and gRPC endpoints
/// can come up first (liveness) and report readiness once the model is loaded.
/// </summary>
public sealed class EngineHost : IAsyncDisposable
{
    private readonly TaskCompletionSource<LoadedEngine> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<IEngineObserver?, Action<string>?, LoadedEngine> _load;

    public EngineSettings Settings { get; }
    /// <summary>The name clients use for the model (OpenAI "model" field).</summary>
    public string ServedModelName { get; }

    /// <param name="load">What loading means; by default a local engine from <paramref name="settings"/> (a gateway passes its router).</param>
    public EngineHost(EngineSettings settings, string servedModelName, Func<IEngineObserver?, Action<string>?, LoadedEngine>? load = null)
    {
        Settings = settings;
        ServedModelName = servedModelName;
        _load = load ?? ((observer, log) => EngineFactory.Create(settings, observer, log, _engineLogger));
    }

    private ILogger? _engineLogger;

    /// <summary>Loads the model (graph build or cache hit, KV allocation) on a background thread.</summary>
    /// <param name="engineLogger">Where the engine reports step failures and fallbacks.</param>
    public Task StartLoading(IEngineObserver? observer = null, Action<string>? log = null, ILogger? engineLogger = null) =>
        Task.Run(() =>
        {
            _engineLogger = engineLogger;
            try
            {
                _loaded.TrySetResult(_load(observer, log));
            }
            catch (Exception e)
            {
                _loaded.TrySetException(e);
            }
        });

    /// <summary>Uses an engine that is already loaded (tests, embedding).</summary>
    public void SetLoaded(LoadedEngine engine) => _loaded.TrySetResult(engine);

    public bool IsReady => _loaded.Task.IsCompletedSuccessfully;
    public Exception? LoadError => _loaded.Task.Exception?.InnerException;
    /// <summary>The engine, or null while loading (callers answer 503 / UNAVAILABLE).</summary>
    public LoadedEngine? Current => IsReady ? _loaded.Task.Result : null;
    public Task<LoadedEngine> WhenLoaded => _loaded.Task;

    public async ValueTask DisposeAsync()
    {
        if (IsReady) await _loaded.Task.Result.DisposeAsync();
    }
}
