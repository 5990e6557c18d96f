using InferServe.LoadTests;
using InferServe.LoadTests.Cli;
using InferServe.LoadTests.Reports;

if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(HelpText.Text);
    return 0;
}
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
try
{
    var outcome = await LoadTestRunner.RunAsync(args, Console.Error, cts.Token);
    foreach (var p in outcome.Report.Points)
    {
        var t = p.Total;
        Console.WriteLine($"{p.Label}: {t.Completed}/{t.Requests} completed, {t.Failed} failed, {t.Unfinished} unfinished; {MarkdownReport.F(t.RequestThroughput)} req/s, " +
                          $"{MarkdownReport.F(t.OutputTokenThroughput)} out tok/s, goodput {MarkdownReport.F(t.Goodput)} req/s; TTFT p50 {MarkdownReport.Ms(t.Ttft.Median)} ms " +
                          $"p99 {MarkdownReport.Ms(t.Ttft.P99)} ms; TPOT p50 {MarkdownReport.Ms(t.Tpot.Median)} ms; ITL p99 {MarkdownReport.Ms(t.Itl.P99)} ms");
    }
    foreach (var v in outcome.Report.Points.SelectMany(VerdictText.Lines)) Console.WriteLine(v);
    foreach (var (type, detail) in outcome.Report.Points.SelectMany(p => p.Total.ErrorExamples).DistinctBy(e => e.Key))
        Console.WriteLine($"  first {type}: {detail.ReplaceLineEndings(" ")}");
    Console.WriteLine($"Reports in {Path.GetFullPath(outcome.Directory)}: report.json, report.md, report.html, plots/");
    // Refusals are the point of a burst: it passes on its verdict; a soak fails when flagged.
    bool ok = outcome.Report.Points.All(p => (p.Bursts.Count > 0 ? p.Bursts.Values.All(b => b.Pass) : p.Total.Failed == 0)
                                             && p.Soak is not ({ MemoryFlagged: true } or { LatencyFlagged: true }));
    return ok ? 0 : 1;
}
catch (Exception e) when (e is FormatException or InvalidOperationException or FileNotFoundException)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 2;
}
