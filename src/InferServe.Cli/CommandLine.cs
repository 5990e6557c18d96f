using System.Globalization;

namespace InferServe.Cli;

/// <summary>
/// `--name value` / `--name=value` / `--flag` options. Every lookup is recorded, so anything the
/// command never asked for is reported as unknown instead of being silently ignored.
/// </summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public CommandLine(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) throw new UsageException($"Unexpected argument '{a}'.");
            var name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal))
                value = list[++i];
            if (value is null) _flags.Add(name);
            else
            {
                if (!_values.TryGetValue(name, out var vs)) _values[name] = vs = [];
                vs.Add(value);
            }
        }
    }

    public string? Get(string name)
    {
        _seen.Add(name);
        if (_flags.Contains(name)) throw new UsageException($"--{name} needs a value.");
        return _values.TryGetValue(name, out var v) ? v[^1] : null;
    }

    public IReadOnlyList<string> GetAll(string name)
    {
        _seen.Add(name);
        return _values.TryGetValue(name, out var v) ? v : [];
    }

    public string Get(string name, string fallback) => Get(name) ?? fallback;

    public int GetInt(string name, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        Parse(name, fallback, s => int.Parse(s, CultureInfo.InvariantCulture), v => v >= min && v <= max, $"an integer in [{min}, {max}]");

    public float GetFloat(string name, float fallback, float min = float.MinValue, float max = float.MaxValue) =>
        Parse(name, fallback, s => float.Parse(s, CultureInfo.InvariantCulture), v => v >= min && v <= max && float.IsFinite(v), $"a number in [{min}, {max}]");

        public bool Flag(string name)
    {
        _seen.Add(name);
        return _flags.Contains(name) || (_values.TryGetValue(name, out var v) && bool.TryParse(v[^1], out var b) && b);
    }

    private T Parse<T>(string name, T fallback, Func<string, T> parse, Func<T, bool> valid, string expected)
    {
        var text = Get(name);
        if (text is null) return fallback;
        T value;
        try
        {
            value = parse(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UsageException($"--{name} must be {expected}, got '{text}'.");
        }
        if (!valid(value)) throw new UsageException($"--{name} must be {expected}, got '{text}'.");
        return value;
    }

    /// <summary>Fails on options that no lookup asked for (typos, options of another command).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Concat(_flags).Where(k => !_seen.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"Unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}.");
    }
}

public sealed class UsageException(string message) : Exception(message);
