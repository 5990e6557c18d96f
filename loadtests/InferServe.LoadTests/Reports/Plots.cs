using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Reports;

/// <summary>The report's charts: latency CDFs, throughput and latency over time, and the sweep's throughput–latency curve.</summary>
public static class Plots
{
    public static IReadOnlyList<(string Name, string Title, string Svg)> All(BenchmarkReport report)
    {
        var plots = new List<(string, string, string)>();
        var metrics = new (string Key, string Title, Func<RequestRecord, IEnumerable<double>> Values)[]
        {
            ("ttft", "TTFT", r => RequestMetrics.Ttft(r) is { } v ? [v] : []),
            ("tpot", "TPOT", r => RequestMetrics.Tpot(r) is { } v ? [v] : []),
            ("itl", "Inter-token latency", RequestMetrics.Itl),
            ("e2e", "End-to-end latency", r => RequestMetrics.E2e(r) is { } v ? [v] : []),
        };
        foreach (var (key, title, values) in metrics)
        {
            var series = report.Points.Select(p => new Series(p.Label,
                SvgPlot.Cdf(p.Records.Where(r => !r.Warmup && r.Completed).SelectMany(values).Select(s => s * 1000)))).ToArray();
            plots.Add(($"cdf-{key}", $"{title} CDF", SvgPlot.LineChart($"{title} CDF", "ms", "fraction of requests", series)));
        }

        for (int i = 0; i < report.Points.Count; i++)
        {
            var p = report.Points[i];
            var tput = new[]
            {
                new Series("output tok/s", p.Series.Select(b => (b.Start + b.Seconds / 2, b.OutputTokens / b.Seconds)).ToArray(), true),
                new Series("req/s x100", p.Series.Select(b => (b.Start + b.Seconds / 2, 100 * b.CompletedRequests / b.Seconds)).ToArray(), true),
            };
            plots.Add(($"throughput-over-time-{i}", $"Throughput over time: {p.Label}",
                SvgPlot.LineChart($"Throughput over time: {p.Label}", "seconds", "completed per second", tput)));
            var latency = new[]
            {
                new Series("TTFT p50", p.Series.Select(b => (b.Start + b.Seconds / 2, b.TtftMedian * 1000)).ToArray(), true),
                new Series("E2E p50", p.Series.Select(b => (b.Start + b.Seconds / 2, b.E2eMedian * 1000)).ToArray(), true),
            };
            if (p.ServerSamples.Count > 0)
            {
                var server = new[]
                {
                    new Series("RSS MB", p.ServerSamples.Select(s => (s.Time, (s.ResidentBytes ?? double.NaN) / (1 << 20))).ToArray(), true),
                    new Series("KV usage %", p.ServerSamples.Select(s => (s.Time, (s.KvUsage ?? double.NaN) * 100)).ToArray(), true),
                    new Series("waiting", p.ServerSamples.Select(s => (s.Time, s.Waiting ?? double.NaN)).ToArray()),
                };
                plots.Add(($"server-over-time-{i}", $"Server over time: {p.Label}", SvgPlot.LineChart($"Server over time: {p.Label}", "seconds", "MB / % / requests", server)));
            }
            plots.Add(($"latency-over-time-{i}", $"Latency over time: {p.Label}",
                SvgPlot.LineChart($"Latency over time: {p.Label}", "seconds (requests by end time)", "ms", latency)));
        }

        var curve = new[]
        {
            new Series("TTFT p50", report.Points.Select(p => (p.Total.OutputTokenThroughput, p.Total.Ttft.Median * 1000)).ToArray(), true),
            new Series("TTFT p99", report.Points.Select(p => (p.Total.OutputTokenThroughput, p.Total.Ttft.P99 * 1000)).ToArray(), true),
            new Series("TPOT p50", report.Points.Select(p => (p.Total.OutputTokenThroughput, p.Total.Tpot.Median * 1000)).ToArray(), true),
            new Series("E2E p50", report.Points.Select(p => (p.Total.OutputTokenThroughput, p.Total.E2e.Median * 1000)).ToArray(), true),
        };
        plots.Add(("throughput-latency", $"Throughput–latency ({report.SweepAxis} sweep)",
            SvgPlot.LineChart($"Throughput–latency ({report.SweepAxis} sweep)", "output tokens/s (completed)", "ms", curve)));
        return plots;
    }
}
