using System.Globalization;

namespace InferServe.Grammar.Syntax;

/// <summary>A numeric bound from a schema: its value and whether the value itself is excluded.</summary>
internal readonly record struct Bound(decimal Value, bool Exclusive);

/// <summary>
/// Decimal text for numbers between bounds, as exact regular languages (the digit-range construction of
/// llama.cpp's json-schema-to-grammar and outlines, extended to fractions). Integers have at most 16 digits, as
/// unbounded JSON integers. Bounded numbers never use an exponent and have at most 15 digits in all when they
/// have a fraction, so a binary floating-point validator reads them exactly in order (any decimal of 15
/// significant digits survives the round trip through a double): every string the grammar allows lies within the
/// bounds, and every value within them that fits those digits is allowed. Leading zeros and "-0" never appear.
/// </summary>
internal static class NumberRanges
{
    public const int MaxIntegerDigits = 16, MaxSignificantDigits = 15;
    public const long MaxMagnitude = 9_999_999_999_999_999;

    private static readonly CharClassNode AnyDigit = Digits(0, 9);

    /// <summary>Integers in [lo, hi] (null: unbounded on that side); null when there are none.</summary>
    public static GrammarNode? Integers(long? lo, long? hi)
    {
        long min = Math.Max(lo ?? -MaxMagnitude, -MaxMagnitude), max = Math.Min(hi ?? MaxMagnitude, MaxMagnitude);
        if (min > max) return null;
        var options = new List<GrammarNode>();
        if (min < 0) options.Add(new SequenceNode([LiteralNode.Of("-"), Naturals(Math.Max(1, -max), -min)]));
        if (max >= 0) options.Add(Naturals(Math.Max(0, min), max));
        return options.Count == 1 ? options[0] : new ChoiceNode(options);
    }

    /// <summary>Numbers (with an optional fraction) within the bounds; null when there are none.</summary>
    public static GrammarNode? Numbers(Bound? lo, Bound? hi)
    {
        var options = new List<GrammarNode>();
        // Negative values: "-" and a magnitude in (max(-hi, 0), -lo], never zero (so no "-0").
        if (lo is null || lo.Value.Value < 0)
        {
            Bound low = hi is { } h && h.Value < 0 ? new Bound(-h.Value, h.Exclusive) : new Bound(0, true);
            Bound? high = lo is { } l ? new Bound(-l.Value, l.Exclusive) : null;
            if (Magnitudes(low, high) is { } negative) options.Add(new SequenceNode([LiteralNode.Of("-"), negative]));
        }
        if (hi is null || hi.Value.Value >= 0)
        {
            var low = lo is { } l && l.Value >= 0 ? l : new Bound(0, false);
            if (Magnitudes(low, hi) is { } positive) options.Add(positive);
        }
        return options.Count switch { 0 => null, 1 => options[0], _ => new ChoiceNode(options) };
    }

    /// <summary>
    /// Exactly the given integers, as a digit trie (shared prefixes written once, so the grammar stays small and
    /// deterministic).
    /// </summary>
    public static GrammarNode Exactly(IEnumerable<long> values) =>
        Trie([.. values.Select(v => v.ToString(CultureInfo.InvariantCulture)).Distinct().Order(StringComparer.Ordinal)], 0);

    private static GrammarNode Trie(List<string> words, int at)
    {
        var options = new List<GrammarNode>();
        if (words.Any(w => w.Length == at)) options.Add(new SequenceNode([]));
        foreach (var group in words.Where(w => w.Length > at).GroupBy(w => w[at]))
            options.Add(new SequenceNode([LiteralNode.Of(group.Key.ToString()), Trie([.. group], at + 1)]));
        return options.Count == 1 ? options[0] : new ChoiceNode(options);
    }

    /// <summary>Non-negative numbers between the bounds (lo ≥ 0); null when none.</summary>
    private static GrammarNode? Magnitudes(Bound lo, Bound? hi)
    {
        if (lo.Value > MaxMagnitude) return null;
        if (hi is { } h && (h.Value < lo.Value || (h.Value == lo.Value && (h.Exclusive || lo.Exclusive)))) return null;
        if (hi is { } big && big.Value > MaxMagnitude) hi = null;
        var (a, aFraction) = Split(lo.Value);
        (long b, string? bFraction) = hi is { } top ? Split(top.Value) : (MaxMagnitude, null);
        var fractions = new FractionRange(aFraction, lo.Exclusive, bFraction, hi?.Exclusive ?? false);
        var options = new List<GrammarNode>();
        void Add(long from, long to, bool lowTight, bool highTight)
        {
            foreach (var (length, integerPart) in NaturalsByLength(from, to))
            {
                if (fractions.Part(lowTight, highTight, Math.Max(0, MaxSignificantDigits - length)) is { } fraction)
                    options.Add(new SequenceNode([integerPart, fraction]));
            }
        }
        if (a == b)
        {
            Add(a, a, lowTight: true, highTight: bFraction is not null);
        }
        else
        {
            Add(a, a, lowTight: true, highTight: false);
            if (b - a > 1) Add(a + 1, b - 1, lowTight: false, highTight: false);
            Add(b, b, lowTight: false, highTight: bFraction is not null);
        }
        return options.Count switch { 0 => null, 1 => options[0], _ => new ChoiceNode(options) };
    }

    /// <summary>A non-negative decimal as its integer part and its fraction digits (no trailing zeros).</summary>
    private static (long Integer, string Fraction) Split(decimal v)
    {
        decimal whole = decimal.Floor(v);
        string fraction = (v - whole).ToString(CultureInfo.InvariantCulture);
        fraction = fraction.Contains('.') ? fraction[(fraction.IndexOf('.') + 1)..].TrimEnd('0') : "";
        return ((long)whole, fraction);
    }

    private static CharClassNode Digits(int lo, int hi) => CharClassNode.Build([('0' + lo, '0' + hi)], negated: false);

    /// <summary>Integers in [a, b] (0 ≤ a ≤ b) without leading zeros.</summary>
    private static GrammarNode Naturals(long a, long b)
    {
        var options = NaturalsByLength(a, b).Select(x => x.Node).ToList();
        return options.Count == 1 ? options[0] : new ChoiceNode(options);
    }

    /// <summary>Integers in [a, b] (0 ≤ a ≤ b): one same-length range per digit count.</summary>
    private static IEnumerable<(int Length, GrammarNode Node)> NaturalsByLength(long a, long b) =>
        SameLengthSpans(a, b).Select(s => (s.Low.Length, SameLength(s.Low, s.High, 0, true, true)));

    /// <summary>[a, b] (0 ≤ a ≤ b) cut where the digit count changes, as decimal texts of equal length.</summary>
    public static IEnumerable<(string Low, string High)> SameLengthSpans(long a, long b)
    {
        long low = a;
        while (low <= b)
        {
            string x = low.ToString(CultureInfo.InvariantCulture);
            long high = Math.Min(b, x.Length >= MaxIntegerDigits ? MaxMagnitude : Pow10(x.Length) - 1);
            yield return (x, high.ToString(CultureInfo.InvariantCulture));
            if (high == MaxMagnitude) break;
            low = high + 1;
        }
    }

    private static long Pow10(int n)
    {
        long p = 1;
        for (int i = 0; i < n; i++) p *= 10;
        return p;
    }

    /// <summary>
    /// Digit strings of x's length between x and y from position i on, where lowTight/highTight say the digits so
    /// far equal x's/y's. A tight side whose remaining digits are its extreme (all 0 / all 9) is no limit.
    /// </summary>
    private static GrammarNode SameLength(string x, string y, int i, bool lowTight, bool highTight)
    {
        int n = x.Length;
        if (i == n) return new SequenceNode([]);
        if (lowTight && x.AsSpan(i).IndexOfAnyExcept('0') < 0) lowTight = false;
        if (highTight && y.AsSpan(i).IndexOfAnyExcept('9') < 0) highTight = false;
        if (!lowTight && !highTight) return new RepeatNode(AnyDigit, n - i, n - i);
        int lo = lowTight ? x[i] - '0' : 0, hi = highTight ? y[i] - '0' : 9;
        if (lo == hi) return new SequenceNode([Digits(lo, lo), SameLength(x, y, i + 1, lowTight, highTight)]);
        var options = new List<GrammarNode>();
        if (lowTight) options.Add(new SequenceNode([Digits(lo, lo), SameLength(x, y, i + 1, true, false)]));
        int from = lowTight ? lo + 1 : lo, to = highTight ? hi - 1 : hi;
        if (from <= to) options.Add(new SequenceNode([Digits(from, to), SameLength(x, y, i + 1, false, false)]));
        if (highTight) options.Add(new SequenceNode([Digits(hi, hi), SameLength(x, y, i + 1, false, true)]));
        return options.Count == 1 ? options[0] : new ChoiceNode(options);
    }

    /// <summary>
    /// Fractions ("." and digits, or none, which is .0) whose value, compared digit by digit with the
    /// bounds' fraction digits (missing digits are zeros), lies within them. Only applies where the integer part
    /// equals a bound's ("tight").
    /// </summary>
    private sealed record FractionRange(string Low, bool LowExclusive, string? High, bool HighExclusive)
    {
        /// <summary>The fraction after an integer part, with at most <paramref name="maxDigits"/> digits.</summary>
        public GrammarNode? Part(bool lowTight, bool highTight, int maxDigits)
        {
            highTight &= High is not null;
            var options = new List<GrammarNode>();
            if (CanEnd(0, lowTight, highTight)) options.Add(new SequenceNode([]));
            if (maxDigits > 0 && DigitsFrom(0, lowTight, highTight, maxDigits) is { } digits)
                options.Add(new SequenceNode([LiteralNode.Of("."), digits]));
            return options.Count switch { 0 => null, 1 => options[0], _ => new ChoiceNode(options) };
        }

        private static int DigitAt(string s, int i) => i < s.Length ? s[i] - '0' : 0;

        /// <summary>Whether the digits so far (then zeros) are within the bounds.</summary>
        private bool CanEnd(int i, bool lowTight, bool highTight) =>
            (!lowTight || (!LowExclusive && Low.Length <= i)) && (!highTight || !HighExclusive || High!.Length > i);

        /// <summary>Fraction digits from position i on (at least one in all, at most max).</summary>
        private GrammarNode? DigitsFrom(int i, bool lowTight, bool highTight, int max)
        {
            if (!lowTight && !highTight) return i == max ? new SequenceNode([]) : new RepeatNode(AnyDigit, i == 0 ? 1 : 0, max - i);
            var options = new List<GrammarNode>();
            if (i >= 1 && CanEnd(i, lowTight, highTight)) options.Add(new SequenceNode([]));
            if (i < max)
            {
                int lo = lowTight ? DigitAt(Low, i) : 0, hi = highTight ? DigitAt(High!, i) : 9;
                for (int d = lo; d <= hi; d++)
                {
                    bool stillLow = lowTight && d == lo, stillHigh = highTight && d == hi;
                    int runTo = d;
                    // Digits that leave both sides free share one branch.
                    if (!stillLow && !stillHigh)
                    {
                        runTo = highTight ? hi - 1 : hi;
                        if (runTo < d) continue;
                    }
                    if (DigitsFrom(i + 1, stillLow, stillHigh, max) is { } rest)
                        options.Add(new SequenceNode([NumberRanges.Digits(d, runTo), rest]));
                    d = runTo;
                }
            }
            return options.Count switch { 0 => null, 1 => options[0], _ => new ChoiceNode(options) };
        }
    }
}
