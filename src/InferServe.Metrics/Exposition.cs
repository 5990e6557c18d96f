using System.Buffers;
using System.Globalization;
using System.Text;

namespace InferServe.Metrics;

/// <summary>
/// Low-level writers for the Prometheus text exposition format 0.0.4.
/// Series prefixes (name + label set) are rendered to UTF-8 once per child; a scrape then only formats numbers.
/// </summary>
internal static class Exposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Label values escape backslash, double quote and line feed.</summary>
    public static void AppendEscapedLabelValue(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append(@"\n"); break;
                default: sb.Append(c); break;
            }
        }
    }

    /// <summary>HELP text escapes only backslash and line feed (quotes stay as they are).</summary>
    public static string EscapeHelp(string help) => help.Replace(@"\", @"\\").Replace("\n", @"\n");

    /// <summary>Renders the "# HELP" and "# TYPE" lines of a family.</summary>
    public static byte[] Header(string name, string help, string type) =>
        Encoding.UTF8.GetBytes($"# HELP {name} {EscapeHelp(help)}\n# TYPE {name} {type}\n");

    /// <summary>
    /// Renders "name{a="x",b="y",extra="v"} " (or "name " without labels), the part of a sample line before its value.
    /// </summary>
    public static byte[] SeriesPrefix(string name, IReadOnlyList<string> labelNames, IReadOnlyList<string> labelValues,
        string? extraLabel = null, string? extraValue = null)
    {
        var sb = new StringBuilder(name);
        int n = labelNames.Count + (extraLabel is null ? 0 : 1);
        if (n > 0)
        {
            sb.Append('{');
            for (int i = 0; i < labelNames.Count; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(labelNames[i]).Append("=\"");
                AppendEscapedLabelValue(sb, labelValues[i]);
                sb.Append('"');
            }
            if (extraLabel is not null)
            {
                if (labelNames.Count > 0) sb.Append(',');
                sb.Append(extraLabel).Append("=\"");
                AppendEscapedLabelValue(sb, extraValue!);
                sb.Append('"');
            }
            sb.Append('}');
        }
        sb.Append(' ');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Formats a float the way Prometheus (Go's ParseFloat) reads it: invariant, round-trippable, +Inf/-Inf/NaN.</summary>
    public static string FormatDouble(double value)
    {
        Span<byte> buffer = stackalloc byte[32];
        int n = FormatDouble(value, buffer);
        return Encoding.ASCII.GetString(buffer[..n]);
    }

    public static int FormatDouble(double value, Span<byte> destination)
    {
        if (double.IsPositiveInfinity(value)) { "+Inf"u8.CopyTo(destination); return 4; }
        if (double.IsNegativeInfinity(value)) { "-Inf"u8.CopyTo(destination); return 4; }
        if (double.IsNaN(value)) { "NaN"u8.CopyTo(destination); return 3; }
        // Shortest round-trip form, e.g. "0.1", "1E+21", "5E-324": all valid Go floats.
        if (!value.TryFormat(destination, out int written, default, CultureInfo.InvariantCulture))
            throw new InvalidOperationException("double did not fit the format buffer");
        return written;
    }

    /// <summary>Writes one sample line: prefix, value, line feed.</summary>
    public static void WriteSample(IBufferWriter<byte> writer, byte[] prefix, double value)
    {
        writer.Write(prefix);
        Span<byte> span = writer.GetSpan(34);
        int n = FormatDouble(value, span);
        span[n++] = (byte)'\n';
        writer.Advance(n);
    }

    public static void WriteSample(IBufferWriter<byte> writer, byte[] prefix, long value)
    {
        writer.Write(prefix);
        Span<byte> span = writer.GetSpan(22);
        value.TryFormat(span, out int n, default, CultureInfo.InvariantCulture);
        span[n++] = (byte)'\n';
        writer.Advance(n);
    }
}
