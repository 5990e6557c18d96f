using System.Text.Json;
using System.Text.Json.Serialization;

namespace InferServe.LoadTests.Reports;

/// <summary>Writes report.json, report.md, report.html and plots/*.svg into one directory; returns the paths.</summary>
public static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static async Task<IReadOnlyList<string>> WriteAsync(BenchmarkReport report, string directory, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.Combine(directory, "plots"));
        var written = new List<string>();
        async Task Write(string name, string text)
        {
            var path = Path.Combine(directory, name);
            await File.WriteAllTextAsync(path, text, ct);
            written.Add(path);
        }

        await Write("report.json", JsonSerializer.Serialize(report, Json));
        await Write("report.md", MarkdownReport.Render(report));
        var plots = Plots.All(report);
        foreach (var (name, _, svg) in plots) await Write(Path.Combine("plots", name + ".svg"), svg);
        await Write("report.html", HtmlReport.Render(report, plots));
        return written;
    }
}
