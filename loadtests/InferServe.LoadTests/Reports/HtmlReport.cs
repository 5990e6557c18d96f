using System.Net;
using System.Text;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Reports;

/// <summary>A single self-contained HTML page: tables plus the inline SVG plots (nothing fetched at view time).</summary>
public static class HtmlReport
{
    public static string Render(BenchmarkReport r, IReadOnlyList<(string Name, string Title, string Svg)> plots)
    {
        var h = new StringBuilder();
        h.AppendLine("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>InferServe load test</title><style>");
        h.AppendLine("body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}figure{display:inline-block;margin:0.5em}");
        h.AppendLine("</style></head><body><h1>InferServe load test</h1><ul>");
        h.AppendLine($"<li>Target: <code>{E(r.Target)}</code></li><li>Started: {r.StartedAt:u}</li><li>Command: <code>{E(r.Command)}</code></li><li>Seeds: {string.Join(", ", r.Seeds)}</li>");
        foreach (var s in r.Scenarios) h.AppendLine($"<li>Scenario {E(s)}</li>");
        h.AppendLine("</ul><h2>Summary</h2><table><tr><th>run</th><th>completed</th><th>failed</th><th>unfinished</th><th>req/s</th><th>output tok/s</th><th>total tok/s</th><th>goodput req/s</th>" +
                     "<th>TTFT p50/p99 ms</th><th>TPOT p50/p99 ms</th><th>ITL p50/p99 ms</th><th>E2E p50/p99 ms</th></tr>");
        foreach (var p in r.Points)
            foreach (var s in p.Scenarios.Count > 1 ? [.. p.Scenarios, p.Total] : new[] { p.Total }) Row(h, s);
        h.AppendLine("</table>");
        var errors = r.Points.SelectMany(p => p.Total.ErrorsByType.Select(e => $"{p.Label}: {e.Key} × {e.Value}")).ToArray();
        if (errors.Length > 0) h.AppendLine("<h2>Errors</h2><ul>" + string.Concat(errors.Select(e => $"<li>{E(e)}</li>")) + "</ul>");
        var verdicts = r.Points.SelectMany(p => VerdictText.Lines(p).Select(v => $"{p.Label}: {v}")).ToArray();
        if (verdicts.Length > 0) h.AppendLine("<h2>Verdicts</h2><ul>" + string.Concat(verdicts.Select(v => $"<li>{E(v)}</li>")) + "</ul>");
        h.AppendLine("<h2>Plots</h2>");
        foreach (var (_, title, svg) in plots) h.AppendLine($"<figure>{svg}<figcaption>{E(title)}</figcaption></figure>");
        h.AppendLine("</body></html>");
        return h.ToString();
    }

    private static void Row(StringBuilder h, RunSummary s)
    {
        static string Pair(Distribution d) => $"{MarkdownReport.Ms(d.Median)} / {MarkdownReport.Ms(d.P99)}";
        h.AppendLine($"<tr><td>{E(s.Label)}</td><td>{s.Completed}</td><td>{s.Failed}</td><td>{s.Unfinished}</td><td>{MarkdownReport.F(s.RequestThroughput)}</td>" +
                     $"<td>{MarkdownReport.F(s.OutputTokenThroughput)}</td><td>{MarkdownReport.F(s.TotalTokenThroughput)}</td><td>{MarkdownReport.F(s.Goodput)}</td>" +
                     $"<td>{Pair(s.Ttft)}</td><td>{Pair(s.Tpot)}</td><td>{Pair(s.Itl)}</td><td>{Pair(s.E2e)}</td></tr>");
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
