namespace InferServe.LoadTests.Load;

/// <summary>Counters the progress line reads while a run is under way (thread-safe).</summary>
public sealed class LiveCounters
{
    private long _started, _completed, _failed, _unfinished, _outputTokens;

    public long Started => Interlocked.Read(ref _started);
    public long Completed => Interlocked.Read(ref _completed);
    public long Failed => Interlocked.Read(ref _failed);
    public long OutputTokens => Interlocked.Read(ref _outputTokens);
    public long InFlight => Started - Completed - Failed - Interlocked.Read(ref _unfinished);

    public void OnStart() => Interlocked.Increment(ref _started);

    public void OnEnd(Metrics.RequestRecord r)
    {
        if (r.Completed)
        {
            Interlocked.Increment(ref _completed);
            Interlocked.Add(ref _outputTokens, Metrics.RequestMetrics.OutputTokens(r));
        }
        else if (r.Error is not null)
        {
            Interlocked.Increment(ref _failed);
        }
        else
        {
            Interlocked.Increment(ref _unfinished); // cut off when the run stopped
        }
    }
}
