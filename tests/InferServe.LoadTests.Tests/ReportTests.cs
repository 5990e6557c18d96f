using InferServe.LoadTests.Metrics;
using InferServe.LoadTests.Reports;

namespace InferServe.LoadTests.Tests;

public sealed class ReportTests
{
    [Fact]
    public async Task Reports_render_a_sweep_including_a_point_where_nothing_completed()
    {
        var good = new[] { Streams.Completed(0, [0.1, 0.2, 0.3], 0.3), Streams.Completed(0.5, [0.7, 0.8], 0.8), Streams.Failed(0.6, "http_429") };
        var bad = new[] { Streams.Failed(0, "connection_refused"), Streams.Unfinished(0.2, [0.3]) };
        RunPoint Point(string label, double level, RequestRecord[] records) =>
            new(label, level, RunSummary.From(label, records, 1, Slo.Parse("ttft=500ms")), [], TimeSeries.Of(records, 1, 0.5)) { Records = records };
        var report = new BenchmarkReport("http://127.0.0.1:1", "inferserve-load --sweep-rate 1,2", DateTimeOffset.UnixEpoch, "rate", ["s: test"], [42],
            [Point("rate 1", 1, good), Point("rate 2", 2, bad)]);
        var dir = Path.Combine(Path.GetTempPath(), $"loadtests-report-{Environment.ProcessId}");
        try
        {
            var files = await ReportWriter.WriteAsync(report, dir, TestContext.Current.CancellationToken);

            Assert.Contains(files, f => f.EndsWith("report.json"));
            var json = await File.ReadAllTextAsync(Path.Combine(dir, "report.json"), TestContext.Current.CancellationToken);
            Assert.Contains("\"seeds\"", json);
            Assert.Contains("\"http_429\": 1", json);
            Assert.Contains("NaN", json); // the empty point's latencies, not zeros
            var md = await File.ReadAllTextAsync(Path.Combine(dir, "report.md"), TestContext.Current.CancellationToken);
            Assert.Contains("## Sweep over rate", md);
            Assert.Contains("connection_refused × 1", md);
            var html = await File.ReadAllTextAsync(Path.Combine(dir, "report.html"), TestContext.Current.CancellationToken);
            Assert.Equal(Directory.GetFiles(Path.Combine(dir, "plots"), "*.svg").Length, CountOf(html, "<svg"));
            Assert.Contains(Path.Combine(dir, "plots", "throughput-latency.svg"), files);
            // Nothing fetched at view time.
            Assert.DoesNotContain("src=", html);
            Assert.DoesNotContain("href=", html);
            Assert.DoesNotContain("<script", html);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
