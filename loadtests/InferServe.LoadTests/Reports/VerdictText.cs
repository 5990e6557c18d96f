using System.Globalization;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Reports;

/// <summary>One-line readings of the soak and burst verdicts, shared by the console, Markdown and HTML.</summary>
public static class VerdictText
{
    public static IEnumerable<string> Lines(RunPoint p)
    {
        if (p.Soak is { } s)
        {
            string memory = s.RssGrowth is { } g
                ? $"resident memory {Mb(s.RssStart)} → {Mb(s.RssEnd)} MB after warm-up ({Pct(g)}; flagged above {Pct(SoakVerdict.MaxRssGrowth)}): {(s.MemoryFlagged ? "FLAGGED" : "ok")}"
                : "resident memory: the server does not expose process_resident_memory_bytes (no verdict)";
            string latency = s.P99Drift is { } d
                ? $"p99 E2E {MarkdownReport.Ms(s.P99First)} → {MarkdownReport.Ms(s.P99Last)} ms, first to last third ({Pct(d)}; flagged above {Pct(SoakVerdict.MaxP99Drift)}): {(s.LatencyFlagged ? "FLAGGED" : "ok")}"
                : "p99 drift: too few completed requests (no verdict)";
            yield return $"Soak: {memory}; {latency}.";
        }
        foreach (var (name, b) in p.Bursts)
        {
            string recovery = b.RecoverySeconds is { } r ? $"latency back within 20 % of the pre-burst median ({MarkdownReport.Ms(b.BaselineE2eMedian)} ms) {r.ToString("0.0", CultureInfo.InvariantCulture)} s after the burst" : "latency did not recover before the run ended";
            yield return $"Burst {name}: {b.Sent} sent, {b.Refused} refused ({b.RefusedWithoutRetryAfter} without Retry-After), {b.AcceptedFailed} accepted requests failed, " +
                         $"{b.Unfinished} unfinished; {recovery}: {(b.Pass ? "PASS" : "FAIL")}.";
        }
    }

    private static string Mb(double? bytes) => bytes is { } b ? (b / (1 << 20)).ToString("0.0", CultureInfo.InvariantCulture) : "–";

    private static string Pct(double fraction) => (fraction * 100).ToString("+0.0;-0.0", CultureInfo.InvariantCulture) + " %";
}
