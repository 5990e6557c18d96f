using System.CommandLine;
using System.Globalization;

namespace InferServe.Cli.Options;

/// <summary>
/// Option factories with the CLI's conventions: invariant-culture numbers, range checks whose error names the option and
/// the allowed values on one line, and "last one wins" when an option is repeated (scripts append overrides).
/// </summary>
public static class Opt
{
    public static Option<int?> Int(string name, string description, int min = int.MinValue, int max = int.MaxValue, int? @default = null) =>
        Scalar(name, description, s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture), v => v >= min && v <= max, Range("an integer", min, max, int.MinValue, int.MaxValue), @default);

    public static Option<double?> Float(string name, string description, double min = double.MinValue, double max = double.MaxValue, double? @default = null) =>
        Scalar(name, description, s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture), v => double.IsFinite(v) && v >= min && v <= max,
            Range("a number", min, max, double.MinValue, double.MaxValue), @default);

    public static Option<ulong?> ULong(string name, string description) =>
        Scalar<ulong>(name, description, s => ulong.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture), _ => true, $"an integer in [0, {ulong.MaxValue}]", null);

    /// <summary>A text option; <paramref name="check"/> throws <see cref="ArgumentException"/> for a bad value (its message becomes the error).</summary>
    public static Option<string?> Text(string name, string description, string? @default = null, Action<string>? check = null, string helpName = "VALUE")
    {
        var option = new Option<string?>(name)
        {
            Description = description, HelpName = helpName, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
            CustomParser = r =>
            {
                var text = r.Tokens[^1].Value;
                try { check?.Invoke(text); }
                catch (Exception e) when (e is ArgumentException or FormatException) { r.AddError(e.Message.Contains(name, StringComparison.Ordinal) ? e.Message : $"{name}: {e.Message}"); }
                return text;
            },
        };
        if (@default is not null) option.DefaultValueFactory = _ => @default;
        return option;
    }

    /// <summary>One of a fixed set (case-insensitive): "Unknown --name 'x'; use a, b or c."</summary>
    public static Option<string?> Choice(string name, string description, IReadOnlyList<string> allowed, string? @default = null) =>
        Text(name, description, @default, v =>
        {
            if (!allowed.Contains(v.ToLowerInvariant())) throw new ArgumentException(UnknownChoice(name, v, allowed));
        }, string.Join('|', allowed));

    public static string UnknownChoice(string name, string value, IReadOnlyList<string> allowed) =>
        $"Unknown {name} '{value}'; use {string.Join(", ", allowed.SkipLast(1))} or {allowed[^1]}.";

    /// <summary>A comma-separated list, each item checked by <paramref name="parse"/> (a sweep in the bench commands).</summary>
    public static Option<string?> List(string name, string description, string @default, Action<string> parse) =>
        Text(name, description, @default, text =>
        {
            foreach (var item in Split(text)) parse(item);
        }, "A[,B...]");

    public static List<string> Split(string text) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    public static void PositiveInt(string text)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1)
            throw new ArgumentException($"'{text}' is not a positive integer.");
    }

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>Repeatable: every occurrence adds one value.</summary>
    public static Option<string[]> Many(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName, AllowMultipleArgumentsPerToken = false };

    private static Option<T?> Scalar<T>(string name, string description, Func<string, T> parse, Func<T, bool> valid, string expected, T? @default) where T : struct
    {
        var option = new Option<T?>(name)
        {
            Description = description, HelpName = "N", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
            CustomParser = r =>
            {
                var text = r.Tokens[^1].Value;
                try
                {
                    var value = parse(text);
                    if (valid(value)) return value;
                }
                catch (Exception e) when (e is FormatException or OverflowException)
                {
                }
                r.AddError($"{name} must be {expected}, got '{text}'.");
                return null;
            },
        };
        if (@default is { } d) option.DefaultValueFactory = _ => d;
        return option;
    }

    private static string Range<T>(string what, T min, T max, T lowest, T highest) where T : IEquatable<T>, IFormattable
    {
        string F(T v) => v.ToString(null, CultureInfo.InvariantCulture);
        if (min.Equals(lowest) && max.Equals(highest)) return what;
        if (max.Equals(highest)) return $"{what} >= {F(min)}";
        if (min.Equals(lowest)) return $"{what} <= {F(max)}";
        return $"{what} in [{F(min)}, {F(max)}]";
    }

    /// <summary>A command: its options and its action (the same shape for every command).</summary>
    public static Command Command(string name, string description, IEnumerable<Option> options, Func<ParseResult, int> action)
    {
        var command = new Command(name, description);
        options.AddTo(command);
        command.SetAction(action);
        return command;
    }

    public static Command Command(string name, string description, IEnumerable<Option> options, Func<ParseResult, Task<int>> action)
    {
        var command = new Command(name, description);
        options.AddTo(command);
        command.SetAction((p, _) => action(p));
        return command;
    }

    /// <summary>Adds the options to a command (collection-initializer style for shared option sets).</summary>
    public static void AddTo(this IEnumerable<Option> options, Command command)
    {
        foreach (var o in options) command.Options.Add(o);
    }
}
