using System.Globalization;
using System.Net;
using System.Text;

namespace InferServe.LoadTests.Reports;

public sealed record Series(string Name, IReadOnlyList<(double X, double Y)> Points, bool Markers = false);

/// <summary>Self-contained SVG line charts (no scripts, no fonts to fetch): axes, ticks, a legend.</summary>
public static class SvgPlot
{
    private const int Width = 720, Height = 360, Left = 70, Right = 180, Top = 36, Bottom = 50;
    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

    public static string LineChart(string title, string xLabel, string yLabel, IReadOnlyList<Series> series)
    {
        var finite = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/><text x=\"{Width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{Esc(title)}</text>");
        if (finite.Length == 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"{Height / 2}\" text-anchor=\"middle\">no data</text></svg>");
            return svg.ToString();
        }
        var (x0, x1) = Range(finite.Select(p => p.X));
        var (y0, y1) = Range(finite.Select(p => p.Y).Append(0));
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double x) => Left + (x - x0) / (x1 - x0) * plotW;
        double Py(double y) => Top + plotH - (y - y0) / (y1 - y0) * plotH;

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#888\"/>");
        foreach (var t in Ticks(x0, x1))
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Px(t):F1}\" y1=\"{Top}\" x2=\"{Px(t):F1}\" y2=\"{Top + plotH}\" stroke=\"#eee\"/><text x=\"{Px(t):F1}\" y=\"{Top + plotH + 15}\" text-anchor=\"middle\">{Num(t)}</text>");
        foreach (var t in Ticks(y0, y1))
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Py(t):F1}\" x2=\"{Left + plotW}\" y2=\"{Py(t):F1}\" stroke=\"#eee\"/><text x=\"{Left - 6}\" y=\"{Py(t) + 4:F1}\" text-anchor=\"end\">{Num(t)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + plotW / 2}\" y=\"{Height - 12}\" text-anchor=\"middle\">{Esc(xLabel)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(16 {Top + plotH / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(yLabel)}</text>");

        for (int i = 0; i < series.Count; i++)
        {
            var color = Colors[i % Colors.Length];
            var pts = series[i].Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
            if (pts.Length > 0)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\" points=\"");
                svg.AppendJoin(' ', pts.Select(p => string.Create(CultureInfo.InvariantCulture, $"{Px(p.X):F1},{Py(p.Y):F1}")));
                svg.Append("\"/>");
                if (series[i].Markers)
                    foreach (var p in pts) svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{Px(p.X):F1}\" cy=\"{Py(p.Y):F1}\" r=\"3\" fill=\"{color}\"/>");
            }
            double ly = Top + 10 + i * 16;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Width - Right + 12}\" y1=\"{ly}\" x2=\"{Width - Right + 32}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{Width - Right + 36}\" y=\"{ly + 4}\">{Esc(series[i].Name)}</text>");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>The empirical CDF of a sample, thinned to at most 400 points.</summary>
    public static IReadOnlyList<(double X, double Y)> Cdf(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) return [];
        int step = Math.Max(1, sorted.Length / 400);
        var points = new List<(double, double)>();
        for (int i = 0; i < sorted.Length; i += step) points.Add((sorted[i], (i + 1.0) / sorted.Length));
        points.Add((sorted[^1], 1.0));
        return points;
    }

    private static (double, double) Range(IEnumerable<double> values)
    {
        double lo = values.Min(), hi = values.Max();
        if (hi - lo < 1e-12) hi = lo + 1;
        return (lo, hi);
    }

    private static IEnumerable<double> Ticks(double lo, double hi)
    {
        double raw = (hi - lo) / 5, mag = Math.Pow(10, Math.Floor(Math.Log10(raw))), step = mag * (raw / mag < 2 ? 2 : raw / mag < 5 ? 5 : 10);
        for (double t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step) yield return t;
    }

    private static string Num(double v) => Math.Abs(v) >= 1000 || v == Math.Round(v) ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
