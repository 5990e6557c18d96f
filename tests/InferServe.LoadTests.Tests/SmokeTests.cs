using System.Text.Json;

namespace InferServe.LoadTests.Tests;

/// <summary>A few seconds of real load against a real server, over HTTP and gRPC; every report file must be written.</summary>
public sealed class SmokeTests(TinyServer server) : IClassFixture<TinyServer>
{
    private static readonly string[] Small = ["--input-len", "32", "--output-len", "8", "--vocab", "500", "--slo", "ttft=2s,tpot=500ms", "--drain", "30s", "--timeout", "30s"];

    [Fact(Timeout = 180_000)]
    public async Task Http_completions_and_chat_sweep_writes_every_report()
    {
        var dir = NewDir("http");
        var outcome = await RunAsync(
        [
            "--url", server.HttpBase, "--scenario", "name=completions;api=completions", "--scenario", "name=chat;api=chat;dataset=prefix;prefix-len=64;suffix-len=4",
            "--sweep-rate", "2,4", "--duration", "2s", "--warmup", "0.5s", "--seed", "5", "--monitor", "0.5s", "--out", dir, .. Small,
        ]);

        Assert.Equal(2, outcome.Report.Points.Count);
        Assert.All(outcome.Report.Points, p => Assert.Equal(2, p.Scenarios.Count));
        // The soak monitor read the server's process metrics.
        Assert.All(outcome.Report.Points, p => Assert.True(p.Soak?.RssStart > 0, "no process_resident_memory_bytes"));
        await AssertReportsAsync(dir, outcome, expectedPlots: 4 + 2 * 3 + 1);
    }

    [Fact(Timeout = 180_000)]
    public async Task Grpc_fixed_concurrency_writes_every_report()
    {
        var dir = NewDir("grpc");
        var outcome = await RunAsync(["--grpc", server.GrpcAddress, "--api", "grpc", "--concurrency", "2", "--requests", "12", "--duration", "5s", "--out", dir, .. Small]);

        var total = Assert.Single(outcome.Report.Points).Total;
        Assert.Equal(12, total.Requests);
        Assert.True(total.Ttft.Count == 12 && total.Itl.Count > 0, $"TTFT n={total.Ttft.Count}, ITL n={total.Itl.Count}");
        await AssertReportsAsync(dir, outcome, expectedPlots: 4 + 2 + 1);
    }

    [Fact(Timeout = 180_000)]
    public async Task Concurrency_sweep_gives_one_point_per_level_and_records_the_seed()
    {
        var dir = NewDir("sweep-concurrency");
        var outcome = await RunAsync(["--url", server.HttpBase, "--sweep-concurrency", "1,2", "--requests", "4", "--seed", "9", "--out", dir, .. Small]);

        Assert.Equal([1.0, 2.0], outcome.Report.Points.Select(p => p.Level));
        Assert.All(outcome.Report.Points, p => Assert.Equal(4, p.Total.Completed));
        Assert.Equal([9], outcome.Report.Seeds);
        Assert.True(File.Exists(Path.Combine(dir, "report.html")));
    }

    private async Task<LoadTestRunner.Outcome> RunAsync(string[] args)
    {
        var log = new StringWriter();
        var outcome = await LoadTestRunner.RunAsync(args, log, TestContext.Current.CancellationToken);
        Assert.True(outcome.Report.Points.All(p => p.Total.Failed == 0 && p.Total.Completed > 0),
            $"Failures or nothing completed:\n{string.Join("\n", outcome.Report.Points.Select(p => $"{p.Label}: {p.Total.Completed} ok, errors {string.Join(",", p.Total.ErrorsByType)}"))}\n{log}\n{server.Output}");
        Assert.Contains("done", log.ToString()); // the progress line
        return outcome;
    }

    private static async Task AssertReportsAsync(string dir, LoadTestRunner.Outcome outcome, int expectedPlots)
    {
        var ct = TestContext.Current.CancellationToken;
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "report.json"), ct));
        var points = json.RootElement.GetProperty("points");
        Assert.Equal(outcome.Report.Points.Count, points.GetArrayLength());
        Assert.All(points.EnumerateArray(), p => Assert.True(p.GetProperty("total").GetProperty("output_token_throughput").GetDouble() > 0));
        Assert.True(json.RootElement.GetProperty("seeds").GetArrayLength() > 0);

        var md = await File.ReadAllTextAsync(Path.Combine(dir, "report.md"), ct);
        Assert.Contains("| TTFT |", md);
        Assert.Contains("| ITL |", md);

        var svgs = Directory.GetFiles(Path.Combine(dir, "plots"), "*.svg");
        Assert.Equal(expectedPlots, svgs.Length);
        foreach (var svg in svgs)
        {
            var text = await File.ReadAllTextAsync(svg, ct);
            Assert.StartsWith("<svg", text);
            Assert.True(text.Contains("<polyline") && text.EndsWith("</svg>"), $"{Path.GetFileName(svg)} has no curve: {text[..Math.Min(300, text.Length)]}");
        }
        var html = await File.ReadAllTextAsync(Path.Combine(dir, "report.html"), ct);
        Assert.Equal(expectedPlots, html.Split("<svg").Length - 1);
        Assert.EndsWith("</html>", html.TrimEnd());
    }

    private static string NewDir(string name) => Path.Combine(Path.GetTempPath(), $"loadtests-smoke-{Environment.ProcessId}-{name}");
}
