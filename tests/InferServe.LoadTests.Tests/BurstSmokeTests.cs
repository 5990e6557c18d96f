namespace InferServe.LoadTests.Tests;

/// <summary>A server that runs one sequence and queues one more, so a short burst overflows it.</summary>
public sealed class SmallQueueServer : TinyServer
{
    protected override string[] ExtraArgs => ["--max-seqs", "1", "--max-queue", "1"];
}

/// <summary>A few seconds of burst over a tiny queue: refusals are 429s with Retry-After, accepted requests all finish.</summary>
public sealed class BurstSmokeTests(SmallQueueServer server) : IClassFixture<SmallQueueServer>
{
    [Fact(Timeout = 180_000)]
    public async Task Burst_overflowing_the_queue_is_refused_with_retry_after_and_accepted_requests_finish()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"loadtests-smoke-{Environment.ProcessId}-burst");
        var outcome = await LoadTestRunner.RunAsync(
        [
            "--url", server.HttpBase, "--rate", "4", "--burst", "300,1s,1s", "--duration", "4s", "--input-len", "32", "--output-len", "32",
            "--timeout", "60s", "--drain", "60s", "--out", dir,
        ], TextWriter.Null, TestContext.Current.CancellationToken);

        var point = Assert.Single(outcome.Report.Points);
        var burst = Assert.Single(point.Bursts).Value;
        var detail = $"{burst}; errors {string.Join(",", point.Total.ErrorsByType)}\n{server.Output[^Math.Min(3000, server.Output.Length)..]}";
        Assert.True(burst.Refused > 0, detail);
        Assert.True(burst.RefusedWithoutRetryAfter == 0 && burst.AcceptedFailed == 0 && burst.Unfinished == 0, detail);
        Assert.True(point.Total.Completed > 0, detail);
        // Latency recovery depends on the machine's other load; the report states it, the test does not time it.
        Assert.Contains("Burst ", await File.ReadAllTextAsync(Path.Combine(dir, "report.md"), TestContext.Current.CancellationToken));
    }
}
