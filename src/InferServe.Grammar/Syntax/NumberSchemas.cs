using System.Text.Json;

namespace InferServe.Grammar.Syntax;

/// <summary>
/// Integer and number schemas with minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers, or draft-4
/// booleans) and integer multipleOf, as grammar rules that only allow values within them.
/// </summary>
internal static class NumberSchemas
{
    public static readonly HashSet<string> Keys = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];

    /// <summary>Up to this many multiples are written out one by one (as a digit trie).</summary>
    public const int MaxMultiples = 1000;

    /// <param name="rules">Where helper rules go (multipleOf over a wide range needs some), named from <paramref name="prefix"/>.</param>
    public static GrammarNode Build(JsonElement s, string path, bool integer, IDictionary<string, GrammarNode> rules, string prefix)
    {
        var lo = ReadBound(s, path, "minimum", "exclusiveMinimum", lower: true);
        var hi = ReadBound(s, path, "maximum", "exclusiveMaximum", lower: false);
        long? step = Step(s, path, integer);
        // A whole-number step makes every allowed number an integer.
        if (step is not null) integer = true;
        if (lo is null && hi is null && step is null or 1) return new RuleRefNode(integer ? JsonRules.Integer : JsonRules.Number);

        GrammarNode? node;
        if (!integer)
        {
            node = NumberRanges.Numbers(lo, hi);
        }
        else
        {
            long? min = lo is { } l ? ToLong(l.Exclusive ? decimal.Floor(l.Value) + 1 : decimal.Ceiling(l.Value)) : null;
            long? max = hi is { } h ? ToLong(h.Exclusive ? decimal.Ceiling(h.Value) - 1 : decimal.Floor(h.Value)) : null;
            node = step is null or 1 ? NumberRanges.Integers(min, max) : Multiples(min, max, step.Value, path, rules, prefix);
        }
        return node ?? throw Fail($"no {(integer ? "integer" : "number")} at {path} lies within its bounds");
    }

    /// <summary>
    /// Up to <see cref="MaxMultiples"/> multiples are written out; more (a wide or unbounded range) take the
    /// divisibility automaton, for steps up to <see cref="DivisibleRanges.MaxStep"/>.
    /// </summary>
    private static GrammarNode? Multiples(long? min, long? max, long step, string path, IDictionary<string, GrammarNode> rules, string prefix)
    {
        long low = Math.Max(min ?? -NumberRanges.MaxMagnitude, -NumberRanges.MaxMagnitude), high = Math.Min(max ?? NumberRanges.MaxMagnitude, NumberRanges.MaxMagnitude);
        long first = CeilDiv(low, step), last = FloorDiv(high, step);
        if (first > last) return null;
        if (last - first + 1 > MaxMultiples)
        {
            if (step <= DivisibleRanges.MaxStep) return DivisibleRanges.Build(low, high, step, rules, prefix);
            throw Fail($"'multipleOf' {step} at {path} allows {last - first + 1} values between its bounds; a step above {DivisibleRanges.MaxStep} is supported with at most {MaxMultiples} multiples between the bounds");
        }
        var values = new List<long>();
        for (long k = first; k <= last; k++) values.Add(k * step);
        return NumberRanges.Exactly(values);
    }

    private static long FloorDiv(long a, long b) => a / b - (a % b != 0 && a < 0 ? 1 : 0);
    private static long CeilDiv(long a, long b) => a / b + (a % b != 0 && a > 0 ? 1 : 0);

    private static long ToLong(decimal v) =>
        (long)Math.Clamp(v, -NumberRanges.MaxMagnitude - 1m, NumberRanges.MaxMagnitude + 1m);

    /// <summary>The integer step multipleOf asks for, or null; fractional steps are refused (binary floating point
    /// validators disagree on them, e.g. 0.07 is no multiple of 0.01 for python-jsonschema).</summary>
    private static long? Step(JsonElement s, string path, bool integer)
    {
        if (!s.TryGetProperty("multipleOf", out var m)) return null;
        if (m.ValueKind != JsonValueKind.Number || Value(m) <= 0) throw Fail($"'multipleOf' at {path} must be a positive number");
        decimal v = Value(m);
        if (decimal.Floor(v) != v || v > NumberRanges.MaxMagnitude)
            throw Fail($"'multipleOf' at {path} is only supported as a whole number{(integer ? "" : " (which makes the value an integer)")}");
        return (long)v;
    }

    /// <summary>The tighter of the inclusive and exclusive keyword; a draft-4 boolean makes the inclusive one exclusive.</summary>
    private static Bound? ReadBound(JsonElement s, string path, string inclusiveKey, string exclusiveKey, bool lower)
    {
        Bound? bound = null;
        bool draft4Exclusive = false;
        if (s.TryGetProperty(exclusiveKey, out var e))
        {
            if (e.ValueKind is JsonValueKind.True or JsonValueKind.False) draft4Exclusive = e.ValueKind == JsonValueKind.True;
            else if (e.ValueKind == JsonValueKind.Number) bound = new Bound(Value(e), true);
            else throw Fail($"'{exclusiveKey}' at {path} must be a number");
        }
        if (s.TryGetProperty(inclusiveKey, out var i))
        {
            if (i.ValueKind != JsonValueKind.Number) throw Fail($"'{inclusiveKey}' at {path} must be a number");
            var inclusive = new Bound(Value(i), draft4Exclusive);
            if (bound is not { } b || (lower ? inclusive.Value > b.Value : inclusive.Value < b.Value)) bound = inclusive;
        }
        else if (draft4Exclusive)
        {
            throw Fail($"'{exclusiveKey}': true at {path} needs '{inclusiveKey}'");
        }

        return bound;
    }

    /// <summary>The number as a decimal; magnitudes beyond decimal's range become ±1e20, which is beyond any JSON number the grammar writes.</summary>
    private static decimal Value(JsonElement n) =>
        n.TryGetDecimal(out var d) ? d : n.GetDouble() < 0 ? -1e20m : 1e20m;

    private static GrammarException Fail(string what) => new($"JSON schema: {what}.");
}
