using System.Globalization;
using System.Text;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Reports;

/// <summary>The report for people: configuration, seeds, and one table of statistics per load level.</summary>
public static class MarkdownReport
{
    public static string Render(BenchmarkReport r)
    {
        var md = new StringBuilder();
        md.AppendLine("# InferServe load test").AppendLine();
        md.AppendLine($"- Target: `{r.Target}`");
        md.AppendLine($"- Started: {r.StartedAt:u}");
        md.AppendLine($"- Command: `{r.Command}`");
        md.AppendLine($"- Seeds: {string.Join(", ", r.Seeds)}");
        foreach (var s in r.Scenarios) md.AppendLine($"- Scenario {s}");
        md.AppendLine();
        if (r.Points.Count > 1)
        {
            md.AppendLine($"## Sweep over {r.SweepAxis}").AppendLine();
            md.AppendLine("| level | completed | failed | req/s | output tok/s | goodput req/s | TTFT p50 ms | TTFT p99 ms | TPOT p50 ms | ITL p99 ms | E2E p99 ms |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var p in r.Points)
            {
                var t = p.Total;
                md.AppendLine($"| {F(p.Level)} | {t.Completed} | {t.Failed} | {F(t.RequestThroughput)} | {F(t.OutputTokenThroughput)} | {F(t.Goodput)} | " +
                              $"{Ms(t.Ttft.Median)} | {Ms(t.Ttft.P99)} | {Ms(t.Tpot.Median)} | {Ms(t.Itl.P99)} | {Ms(t.E2e.P99)} |");
            }
            md.AppendLine();
        }
        foreach (var p in r.Points)
        {
            md.AppendLine($"## {p.Label}").AppendLine();
            foreach (var v in VerdictText.Lines(p)) md.AppendLine($"**{v}**").AppendLine();
            foreach (var s in p.Scenarios.Count > 1 ? [.. p.Scenarios, p.Total] : new[] { p.Total }) Summary(md, s);
        }
        return md.ToString();
    }

    private static void Summary(StringBuilder md, RunSummary s)
    {
        md.AppendLine($"### {s.Label}").AppendLine();
        md.AppendLine($"{s.Requests} requests: {s.Completed} completed, {s.Failed} failed, {s.Unfinished} unfinished in {F(s.DurationSeconds)} s.");
        if (s.ErrorsByType.Count > 0) md.AppendLine("Errors: " + string.Join(", ", s.ErrorsByType.Select(e => $"{e.Key} × {e.Value}")) + ".");
        foreach (var (type, detail) in s.ErrorExamples) md.AppendLine().AppendLine($"- first {type}: `{detail.ReplaceLineEndings(" ").Replace('`', '\'')}`");
        md.AppendLine();
        md.AppendLine("| throughput | value |").AppendLine("|---|---|");
        md.AppendLine($"| requests/s (completed) | {F(s.RequestThroughput)} |");
        md.AppendLine($"| output tokens/s | {F(s.OutputTokenThroughput)} |");
        md.AppendLine($"| total tokens/s | {F(s.TotalTokenThroughput)} |");
        md.AppendLine($"| goodput req/s ({(s.Slo.Length > 0 ? s.Slo : "no SLO")}) | {F(s.Goodput)} ({s.GoodRequests} requests) |");
        md.AppendLine();
        md.AppendLine("| latency (ms) | mean | median | p90 | p99 | max | n |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (name, d) in new[] { ("TTFT", s.Ttft), ("TPOT", s.Tpot), ("ITL", s.Itl), ("E2E", s.E2e) })
            md.AppendLine($"| {name} | {Ms(d.Mean)} | {Ms(d.Median)} | {Ms(d.P90)} | {Ms(d.P99)} | {Ms(d.Max)} | {d.Count} |");
        md.AppendLine();
    }

    internal static string F(double v) => double.IsFinite(v) ? v.ToString("0.##", CultureInfo.InvariantCulture) : "–";

    internal static string Ms(double seconds) => double.IsFinite(seconds) ? (seconds * 1000).ToString("0.##", CultureInfo.InvariantCulture) : "–";
}
