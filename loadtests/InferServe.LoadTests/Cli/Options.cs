using System.Globalization;

namespace InferServe.LoadTests.Cli;

/// <summary>
/// `--key value` options. Scenario settings use the same keys, so `--scenario "name=chat;api=chat;rate=2"`
/// overrides the command's defaults for that scenario only.
/// </summary>
public sealed class Options
{
    public static readonly string[] ScenarioKeys =
    [
        "name", "api", "rate", "burstiness", "concurrency", "ramp", "burst", "duration", "requests", "warmup", "dataset", "input-len", "output-len",
        "range-ratio", "vocab", "prefixes", "prefix-len", "suffix-len", "seed",
    ];

    public static readonly string[] GlobalKeys =
        ["url", "grpc", "model", "api-key", "slo", "monitor", "sweep-rate", "sweep-concurrency", "out", "drain", "timeout", "scenario", "label"];

    private readonly Dictionary<string, string> _values;

    public List<Dictionary<string, string>> Scenarios { get; } = [];

    public bool Help { get; }

    private Options(Dictionary<string, string> values, bool help)
    {
        _values = values;
        Help = help;
    }

    public static Options Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>();
        var scenarios = new List<Dictionary<string, string>>();
        bool help = false;
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a is "--help" or "-h") { help = true; continue; }
            if (!a.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count) throw new FormatException($"Expected --option value at '{a}'.");
            var key = a[2..];
            if (!ScenarioKeys.Contains(key) && !GlobalKeys.Contains(key)) throw new FormatException($"Unknown option --{key}.");
            var value = args[++i];
            if (key == "scenario") scenarios.Add(ParseScenario(value));
            else values[key] = value;
        }
        var o = new Options(values, help);
        o.Scenarios.AddRange(scenarios.Count > 0 ? scenarios : [new Dictionary<string, string>()]);
        return o;
    }

    /// <summary>`name=chat;api=chat;rate=2` (semicolons, since ramps and SLOs hold commas).</summary>
    public static Dictionary<string, string> ParseScenario(string spec)
    {
        var d = new Dictionary<string, string>();
        foreach (var part in spec.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2 || !ScenarioKeys.Contains(kv[0])) throw new FormatException($"Scenario setting '{part}' is not one of {string.Join(", ", ScenarioKeys)}=value.");
            d[kv[0]] = kv[1];
        }
        return d;
    }

    public string? Get(string key) => _values.GetValueOrDefault(key);

    /// <summary>The scenario's value, else the command's, else <paramref name="fallback"/>.</summary>
    public static string? Get(IReadOnlyDictionary<string, string> scenario, Options o, string key, string? fallback = null) =>
        scenario.GetValueOrDefault(key) ?? o.Get(key) ?? fallback;

    public static double Number(string? text, string key, double min = 0)
    {
        if (text is null || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min)
            throw new FormatException($"--{key} needs a number >= {min}, not '{text}'.");
        return v;
    }

    public static double[] List(string text, string key) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => Number(x.Trim(), key, 0))];
}
