using System.Diagnostics;
using InferServe.LoadTests.Datasets;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Clients;

/// <summary>Sends one streamed request and fills its record: chunk times, usage, end or error type.</summary>
public interface ILlmClient : IDisposable
{
    string Api { get; }

    /// <summary>
    /// Never throws for request failures (they become <see cref="RequestRecord.Error"/>). Cancellation by
    /// <paramref name="ct"/> (the run stopping) leaves the record unfinished.
    /// </summary>
    Task SendAsync(Prompt prompt, RequestRecord record, RunClock clock, CancellationToken ct);
}

/// <summary>Seconds since the run started, from the monotonic clock.</summary>
public sealed class RunClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    public double Now => Stopwatch.GetElapsedTime(_start).TotalSeconds;
}
