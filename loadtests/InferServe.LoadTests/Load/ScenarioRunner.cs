using System.Collections.Concurrent;
using InferServe.LoadTests.Clients;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Load;

/// <summary>What one scenario produced: every request's record and the measured window (after warm-up, through drain).</summary>
public sealed record ScenarioResult(Scenario Scenario, IReadOnlyList<RequestRecord> Records, double Started, double MeasureStart, double MeasureEnd)
{
    public double Duration => Math.Max(0, MeasureEnd - MeasureStart);
}

/// <summary>Issues a scenario's requests on schedule, then drains in-flight ones for at most the drain time.</summary>
public static class ScenarioRunner
{
    private const long MaxIssued = 10_000_000;

    public static async Task<ScenarioResult> RunAsync(Scenario s, RunClock clock, LiveCounters counters, TimeSpan drain, CancellationToken ct)
    {
        var records = new ConcurrentQueue<RequestRecord>();
        var inflight = new List<Task>();
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        double t0 = clock.Now, warmEnd = t0 + s.WarmupSeconds, issueEnd = warmEnd + s.DurationSeconds;
        long next = -1, measured = 0;

        // Claims the next prompt index unless the request budget is spent.
        bool TryClaim(out long index, out bool warm)
        {
            warm = clock.Now < warmEnd;
            index = Interlocked.Increment(ref next);
            if (index >= MaxIssued || clock.Now >= issueEnd) return false;
            if (warm) return true;
            return s.MaxRequests is not { } max || Interlocked.Increment(ref measured) <= max;
        }

        async Task SendAsync(long index, bool warm)
        {
            var record = new RequestRecord { Scenario = s.Name, Start = clock.Now, Warmup = warm };
            records.Enqueue(record);
            counters.OnStart();
            await Task.Yield();
            await s.Client.SendAsync(s.Dataset.Get(index), record, clock, abort.Token);
            counters.OnEnd(record);
        }

        switch (s.Simulation)
        {
            case FixedConcurrency fc:
                async Task WorkerAsync()
                {
                    while (!ct.IsCancellationRequested && TryClaim(out var i, out var warm)) await SendAsync(i, warm);
                }
                inflight.AddRange(Enumerable.Range(0, fc.Concurrency).Select(_ => WorkerAsync()));
                break;
            case ConstantRate rate:
                await OpenLoopAsync(clock, t0, issueEnd, (rng, t) => t + rate.NextGap(rng), s.Seed, TryClaim, SendAsync, inflight, ct);
                break;
            case RampRate ramp:
                issueEnd = Math.Min(issueEnd, t0 + ramp.Total);
                await OpenLoopAsync(clock, t0, issueEnd, ramp.NextArrival, s.Seed, TryClaim, SendAsync, inflight, ct);
                break;
            case BurstRate burst:
                await OpenLoopAsync(clock, t0, issueEnd, burst.NextArrival, s.Seed, TryClaim, SendAsync, inflight, ct);
                break;
            default:
                throw new ArgumentException($"Unknown simulation {s.Simulation}");
        }

        var all = Task.WhenAll(inflight);
        try { await all.WaitAsync(drain + TimeSpan.FromSeconds(Math.Max(0, issueEnd - clock.Now)), ct); }
        catch (TimeoutException) { }
        catch (OperationCanceledException) { }
        double end = clock.Now;
        await abort.CancelAsync();
        await all.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return new ScenarioResult(s, records.ToArray(), t0, Math.Min(warmEnd, end), end);
    }

    private delegate bool Claim(out long index, out bool warm);

    /// <summary><paramref name="nextArrival"/> maps the previous arrival (seconds after t0) to the next, or null when done.</summary>
    private static async Task OpenLoopAsync(RunClock clock, double t0, double issueEnd, Func<Random, double, double?> nextArrival, int seed, Claim claim,
        Func<long, bool, Task> send, List<Task> inflight, CancellationToken ct)
    {
        var rng = new Random(seed);
        double offset = 0;
        for (long i = 0; i < MaxIssued; i++)
        {
            if (nextArrival(rng, offset) is not { } o) return;
            offset = o;
            double at = t0 + offset;
            if (at >= issueEnd) return;
            var wait = TimeSpan.FromSeconds(at - clock.Now);
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            }
            catch (OperationCanceledException) { return; }
            if (!claim(out var index, out var warm)) return;
            inflight.Add(send(index, warm));
        }
    }
}
