using System.Runtime.CompilerServices;
using InferServe.Contracts;
using InferServe.Engine.Core;

namespace InferServe.Engine.Api;

/// <summary>A submitted request: read its events, or abort it. Disposing an unfinished handle aborts.</summary>
public sealed class GenerationHandle : IGenerationStream
{
    private readonly LlmEngine _engine;
    private readonly RequestState _state;
    private int _abortRequested;

    internal GenerationHandle(LlmEngine engine, RequestState state)
    {
        _engine = engine;
        _state = state;
    }

    internal CancellationTokenRegistration Registration { get; set; }

    public string RequestId => _state.Spec.RequestId;

    public async IAsyncEnumerable<GenerationEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = _state.Events.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var e))
                yield return e;
        }
    }

    public bool Completed => _state.Events.Reader.Completion.IsCompleted;

    public void Abort()
    {
        if (Interlocked.Exchange(ref _abortRequested, 1) == 0 && !Completed)
        {
            _engine.Post(() => _engine.AbortNow(_state));
            // Stamped after the enqueue: a poster descheduled before it cannot make the engine look slow.
            // If the engine applies the abort first it sees no stamp and records nothing.
            Volatile.Write(ref _state.AbortRequestedAtStep, _engine.CompletedSteps);
        }
    }

    public ValueTask DisposeAsync()
    {
        Registration.Dispose();
        Abort();
        return ValueTask.CompletedTask;
    }
}
