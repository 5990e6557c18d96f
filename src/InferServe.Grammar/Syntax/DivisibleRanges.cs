namespace InferServe.Grammar.Syntax;

/// <summary>
/// Integers in a range that are multiples of a small step, exactly: each same-length digit range of
/// <see cref="NumberRanges"/> is followed digit by digit together with the remainder modulo the step so far (the
/// classic divisibility automaton). Free digit runs share one rule per (digits left, remainder), so the grammar
/// has at most 16 × step such rules, whatever the range.
/// </summary>
internal sealed class DivisibleRanges
{
    /// <summary>Steps up to this take the automaton; larger ones only the written-out form (a bounded range).</summary>
    public const long MaxStep = 100;

    private readonly int _step;
    private readonly IDictionary<string, GrammarNode> _rules;
    private readonly string _prefix;

    private DivisibleRanges(int step, IDictionary<string, GrammarNode> rules, string prefix) => (_step, _rules, _prefix) = (step, rules, prefix);

    /// <summary>Multiples of <paramref name="step"/> in [min, max] (16 digits at most); rules it needs go into <paramref name="rules"/> named from <paramref name="prefix"/>.</summary>
    public static GrammarNode? Build(long min, long max, long step, IDictionary<string, GrammarNode> rules, string prefix)
    {
        var d = new DivisibleRanges((int)step, rules, prefix);
        var options = new List<GrammarNode>();
        // Divisibility does not depend on the sign.
        if (min < 0 && d.Naturals(Math.Max(1, -max), -min) is { } negative) options.Add(new SequenceNode([LiteralNode.Of("-"), negative]));
        if (max >= 0 && d.Naturals(Math.Max(0, min), max) is { } positive) options.Add(positive);
        return options.Count switch { 0 => null, 1 => options[0], _ => new ChoiceNode(options) };
    }

    private GrammarNode? Naturals(long a, long b)
    {
        var options = new List<GrammarNode>();
        foreach (var (x, y) in NumberRanges.SameLengthSpans(a, b))
            if (SameLength(x, y, 0, true, true, 0) is { } node) options.Add(node);
        return options.Count switch { 0 => null, 1 => options[0], _ => new ChoiceNode(options) };
    }

    /// <summary>As <see cref="NumberRanges"/>' same-length ranges, carrying the remainder of the digits so far.</summary>
    private GrammarNode? SameLength(string x, string y, int i, bool lowTight, bool highTight, int remainder)
    {
        int n = x.Length;
        if (i == n) return remainder == 0 ? new SequenceNode([]) : null;
        if (lowTight && x.AsSpan(i).IndexOfAnyExcept('0') < 0) lowTight = false;
        if (highTight && y.AsSpan(i).IndexOfAnyExcept('9') < 0) highTight = false;
        if (!lowTight && !highTight) return Free(n - i, remainder);
        int lo = lowTight ? x[i] - '0' : 0, hi = highTight ? y[i] - '0' : 9;
        var options = new List<GrammarNode>();
        // Digits that keep no side tight are grouped by the remainder they lead to; the tight ones go alone.
        var free = new Dictionary<int, List<(int, int)>>();
        for (int digit = lo; digit <= hi; digit++)
        {
            int next = (remainder * 10 + digit) % _step;
            bool stillLow = lowTight && digit == lo, stillHigh = highTight && digit == hi;
            if (stillLow || stillHigh)
            {
                if (SameLength(x, y, i + 1, stillLow, stillHigh, next) is { } rest) options.Add(new SequenceNode([Digit(digit, digit), rest]));
            }
            else
            {
                (free.TryGetValue(next, out var digits) ? digits : free[next] = []).Add(('0' + digit, '0' + digit));
            }
        }
        foreach (var (next, digits) in free)
            if (Free(n - i - 1, next) is { } rest) options.Add(new SequenceNode([CharClassNode.Build(digits, negated: false), rest]));
        return options.Count switch { 0 => null, 1 => options[0], _ => new ChoiceNode(options) };
    }

    /// <summary>Any <paramref name="digits"/> digits that make the remainder 0: a shared rule, or null when none can.</summary>
    private GrammarNode? Free(int digits, int remainder)
    {
        if (digits == 0) return remainder == 0 ? new SequenceNode([]) : null;
        string name = $"{_prefix}-{digits}-{remainder}";
        if (_rules.ContainsKey(name)) return new RuleRefNode(name);
        var byNext = new Dictionary<int, List<(int, int)>>();
        for (int digit = 0; digit <= 9; digit++)
        {
            int next = (remainder * 10 + digit) % _step;
            (byNext.TryGetValue(next, out var list) ? list : byNext[next] = []).Add(('0' + digit, '0' + digit));
        }
        var options = new List<GrammarNode>();
        foreach (var (next, list) in byNext)
            if (Free(digits - 1, next) is { } rest) options.Add(new SequenceNode([CharClassNode.Build(list, negated: false), rest]));
        if (options.Count == 0) return null;
        _rules[name] = options.Count == 1 ? options[0] : new ChoiceNode(options);
        return new RuleRefNode(name);
    }

    private static CharClassNode Digit(int lo, int hi) => CharClassNode.Build([('0' + lo, '0' + hi)], negated: false);
}
