using System.Collections.Concurrent;

namespace InferServe.Engine.Core;

/// <summary>
/// Work posted to the engine thread from any thread (admissions, aborts, transfer completions, queries), and the
/// wake-up of an idle loop. The loop drains it before every step.
/// </summary>
internal sealed class EngineInbox
{
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Commands posted and not yet run (they count as waiting work).</summary>
    public int Count => _commands.Count;

    public void Post(Action command)
    {
        _commands.Enqueue(command);
        _wake.Release();
    }

    /// <summary>Runs <paramref name="query"/> on the engine thread; its result (or exception) completes the task.</summary>
    public Task<T> Call<T>(Func<T> query)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try { tcs.SetResult(query()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task;
    }

    /// <summary>Engine thread: runs every command posted so far.</summary>
    public void RunPosted()
    {
        while (_commands.TryDequeue(out var command)) command();
    }

    /// <summary>Sleeps until something is posted, <paramref name="timeout"/> passes, or <paramref name="stop"/> fires (throws).</summary>
    public void Wait(TimeSpan timeout, CancellationToken stop) => _wake.Wait(timeout, stop);

    /// <summary>Wakes the loop without work (shutdown).</summary>
    public void Wake() => _wake.Release();
}
