using System.Globalization;

namespace InferServe.LoadTests.Metrics;

/// <summary>Service-level objectives for goodput, e.g. `ttft=500ms,tpot=50ms,e2e=10s`; absent ones are not checked.</summary>
public sealed record Slo(double? Ttft, double? Tpot, double? E2e)
{
    public static Slo None { get; } = new(null, null, null);

    public static Slo Parse(string text)
    {
        double? ttft = null, tpot = null, e2e = null;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2) throw new FormatException($"SLO '{part}' is not name=value (e.g. ttft=500ms).");
            double seconds = Durations.Parse(kv[1]);
            switch (kv[0].ToLowerInvariant())
            {
                case "ttft": ttft = seconds; break;
                case "tpot": tpot = seconds; break;
                case "e2e": e2e = seconds; break;
                default: throw new FormatException($"Unknown SLO '{kv[0]}' (ttft, tpot, e2e).");
            }
        }
        return new(ttft, tpot, e2e);
    }

    /// <summary>A completed request meets the SLO when each set bound holds; an undefined TPOT (one token) holds.</summary>
    public bool Meets(RequestRecord r)
    {
        if (!r.Completed) return false;
        if (Ttft is { } t && RequestMetrics.Ttft(r) > t) return false;
        if (Tpot is { } p && RequestMetrics.Tpot(r) is { } tpot && tpot > p) return false;
        if (E2e is { } e && RequestMetrics.E2e(r) > e) return false;
        return true;
    }

    public override string ToString() => string.Join(",", new[] { ("ttft", Ttft), ("tpot", Tpot), ("e2e", E2e) }
        .Where(x => x.Item2 is not null).Select(x => $"{x.Item1}={(x.Item2!.Value * 1000).ToString(CultureInfo.InvariantCulture)}ms"));
}

/// <summary>Durations written as 500ms, 2s, 1.5m or a bare number of seconds.</summary>
public static class Durations
{
    public static double Parse(string text)
    {
        text = text.Trim();
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0)
            throw new FormatException($"'{text}' is not a duration (500ms, 2s, 1.5m).");
        return v * scale;
    }
}
