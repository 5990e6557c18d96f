using System.Globalization;
using InferServe.Grammar.Matching;
using InferServe.TestSupport.Server;

namespace InferServe.Grammar.Tests;

/// <summary>
/// minimum, maximum, exclusiveMinimum, exclusiveMaximum and multipleOf are enforced by the grammar: a value's
/// text is accepted exactly when the value lies within the bounds (checked against decimal arithmetic over every
/// integer in a window and over random ranges), walks through the masks only ever spell in-range values
/// (checked by python3-jsonschema), and what cannot be enforced is refused by name.
/// </summary>
public sealed class NumericBoundsTests
{
    private static CompiledGrammar Compile(string schema) => TinyGrammars.Compile(new GrammarSpec(GrammarKind.JsonSchema, schema));

    private static bool Accepts(CompiledGrammar grammar, string text) => TinyGrammars.Accepts(grammar, text);

    public static TheoryData<string, long, long> IntegerRanges => new()
    {
        { """{"type":"integer","minimum":0,"maximum":120}""", 0, 120 },
        { """{"type":"integer","minimum":-50,"maximum":50}""", -50, 50 },
        { """{"type":"integer","exclusiveMinimum":-10,"exclusiveMaximum":10}""", -9, 9 },
        { """{"type":"integer","minimum":-1000,"maximum":-100}""", -1000, -100 },
        { """{"type":"integer","maximum":-5}""", long.MinValue, -5 },
        { """{"type":"integer","minimum":1000}""", 1000, long.MaxValue },
        { """{"type":"integer","minimum":17,"maximum":17}""", 17, 17 },
        { """{"type":"integer","exclusiveMinimum":2.5,"maximum":9.7}""", 3, 9 },
        { """{"type":"integer","minimum":99,"maximum":1001}""", 99, 1001 },
        { """{"type":"integer","minimum":-7,"exclusiveMaximum":0}""", -7, -1 },
        { """{"type":"integer","minimum":0,"exclusiveMinimum":true,"maximum":10,"exclusiveMaximum":true}""", 1, 9 },
        { """{"type":"integer","minimum":-1e30,"maximum":1e30}""", long.MinValue, long.MaxValue },
    };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(IntegerRanges))]
    public void An_integer_range_accepts_exactly_the_integers_within_it(string schema, long lo, long hi)
    {
        var grammar = Compile(schema);
        for (long v = -1300; v <= 1300; v++)
            Assert.True(Accepts(grammar, v.ToString(CultureInfo.InvariantCulture)) == (v >= lo && v <= hi), $"{v}");
        foreach (long v in (long[])[-9_999_999_999_999_999, -123_456_789, 99_999, 1_000_000_000_000_000, 9_999_999_999_999_999])
            Assert.True(Accepts(grammar, v.ToString(CultureInfo.InvariantCulture)) == (v >= lo && v <= hi), $"{v}");
        foreach (string bad in (string[])["-0", "007", "1.0", "1e2", "+5", "", "-"])
            Assert.False(Accepts(grammar, bad), bad);
    }

    [Fact(Timeout = 120_000)]
    public void Random_integer_ranges_of_every_magnitude_accept_their_edges_and_nothing_beyond()
    {
        var rng = new Random(7);
        for (int i = 0; i < 60; i++)
        {
            long a = RandomInteger(rng), b = RandomInteger(rng);
            (long lo, long hi) = (Math.Min(a, b), Math.Max(a, b));
            var grammar = Compile($$"""{"type":"integer","minimum":{{lo}},"maximum":{{hi}}}""");
            var probes = new List<long> { lo, hi, lo - 1, hi + 1, lo / 10, hi * 10, -lo, -hi, 0 };
            for (int k = 0; k < 20; k++) probes.Add(RandomInteger(rng));
            foreach (long v in probes.Where(v => Math.Abs(v) <= 9_999_999_999_999_999))
                Assert.True(Accepts(grammar, v.ToString(CultureInfo.InvariantCulture)) == (v >= lo && v <= hi), $"[{lo}, {hi}] and {v}");
        }
    }

    private static long RandomInteger(Random rng)
    {
        long magnitude = (long)Math.Pow(10, rng.Next(0, 16)) * rng.Next(1, 10) + rng.Next(0, 1000);
        return rng.Next(2) == 0 ? -magnitude : magnitude;
    }

    public static TheoryData<string, string?, bool, string?, bool> NumberRanges => new()
    {
        { """{"type":"number","minimum":0,"maximum":1}""", "0", false, "1", false },
        { """{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}""", "0", true, "1", true },
        { """{"type":"number","minimum":-1.5,"maximum":2.25}""", "-1.5", false, "2.25", false },
        { """{"type":"number","minimum":-273.15}""", "-273.15", false, null, false },
        { """{"type":"number","exclusiveMaximum":-0.001}""", null, false, "-0.001", true },
        { """{"type":"number","minimum":3.14159,"maximum":3.1416}""", "3.14159", false, "3.1416", false },
        { """{"type":"number","exclusiveMinimum":-100,"maximum":-99.5}""", "-100", true, "-99.5", false },
        { """{"type":"number","minimum":10,"exclusiveMaximum":10.5}""", "10", false, "10.5", true },
        { """{"type":"number","minimum":-2,"exclusiveMinimum":-1,"maximum":1}""", "-1", true, "1", false },
        { """{"type":"number","exclusiveMinimum":-0.25,"exclusiveMaximum":0.25}""", "-0.25", true, "0.25", true },
    };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(NumberRanges))]
    public void A_number_range_accepts_exactly_the_decimals_within_it(string schema, string? lo, bool loExclusive, string? hi, bool hiExclusive)
    {
        var grammar = Compile(schema);
        decimal? min = lo is null ? null : decimal.Parse(lo, CultureInfo.InvariantCulture), max = hi is null ? null : decimal.Parse(hi, CultureInfo.InvariantCulture);
        bool Within(decimal v) => (min is null || (loExclusive ? v > min : v >= min)) && (max is null || (hiExclusive ? v < max : v <= max));
        string[] fractions = ["", ".0", ".00", ".001", ".1", ".14159", ".141589999", ".1416", ".14160000001", ".2", ".25", ".2500", ".249999", ".250001", ".49", ".5", ".5000001", ".75", ".9", ".999999999"];
        foreach (long whole in (long[])[0, 1, 2, 3, 9, 10, 11, 99, 100, 101, 272, 273, 274, 5000])
        {
            foreach (string fraction in fractions)
            {
                foreach (string sign in (string[])["", "-"])
                {
                    string text = sign + whole.ToString(CultureInfo.InvariantCulture) + fraction;
                    decimal v = decimal.Parse(text, CultureInfo.InvariantCulture);
                    // -0 in any spelling is never written; neither are more than 15 digits with a fraction.
                    bool writable = !(sign == "-" && v == 0) && (fraction.Length == 0 || text.Count(char.IsAsciiDigit) <= 15);
                    Assert.True(Accepts(grammar, text) == (writable && Within(v)), text);
                }
            }
        }

        foreach (string bad in (string[])["1.", ".5", "01.5", "1e0", "-", "0.5e-1"])
            Assert.False(Accepts(grammar, bad), bad);
    }

    [Fact(Timeout = 120_000)]
    public void Random_number_ranges_accept_decimals_near_their_bounds_exactly_when_within_them()
    {
        var rng = new Random(11);
        for (int i = 0; i < 60; i++)
        {
            decimal a = RandomDecimal(rng), b = RandomDecimal(rng);
            (decimal lo, decimal hi) = (Math.Min(a, b), Math.Max(a, b));
            bool loExclusive = rng.Next(2) == 0, hiExclusive = rng.Next(2) == 0;
            string schema = $$"""{"type":"number","{{(loExclusive ? "exclusiveMinimum" : "minimum")}}":{{lo.ToString(CultureInfo.InvariantCulture)}},"{{(hiExclusive ? "exclusiveMaximum" : "maximum")}}":{{hi.ToString(CultureInfo.InvariantCulture)}}}""";
            if (lo == hi && (loExclusive || hiExclusive)) continue;
            var grammar = Compile(schema);
            var probes = new List<decimal> { lo, hi, 0, -lo, -hi, (lo + hi) / 2 };
            foreach (decimal step in (decimal[])[1m, 0.1m, 0.001m, 0.00001m])
                probes.AddRange([lo - step, lo + step, hi - step, hi + step]);
            for (int k = 0; k < 10; k++) probes.Add(RandomDecimal(rng));
            foreach (decimal v in probes)
            {
                string text = Math.Round(v, 6).ToString(CultureInfo.InvariantCulture);
                decimal value = decimal.Parse(text, CultureInfo.InvariantCulture);
                if (text.StartsWith("-0") && value == 0) continue; // -0 is never written
                bool within = (loExclusive ? value > lo : value >= lo) && (hiExclusive ? value < hi : value <= hi);
                Assert.True(Accepts(grammar, text) == within, $"{schema} and {text}");
            }
        }
    }

    /// <summary>Up to three fraction digits, magnitudes from 0.001 to 10 000, either sign.</summary>
    private static decimal RandomDecimal(Random rng)
    {
        decimal magnitude = rng.Next(0, 10_000_000) / 1000m / (decimal)Math.Pow(10, rng.Next(0, 4));
        return rng.Next(2) == 0 ? -magnitude : magnitude;
    }

    [Fact(Timeout = 120_000)]
    public void MultipleOf_within_bounds_accepts_exactly_the_multiples()
    {
        var grammar = Compile("""{"type":"integer","minimum":-95,"exclusiveMaximum":100,"multipleOf":15}""");
        for (long v = -200; v <= 200; v++)
            Assert.True(Accepts(grammar, v.ToString(CultureInfo.InvariantCulture)) == (v >= -95 && v < 100 && v % 15 == 0), $"{v}");
        var one = Compile("""{"type":"integer","multipleOf":1}""");
        Assert.True(Accepts(one, "-123456"));
    }

    public static TheoryData<string, long, long, long> WideMultiples => new()
    {
        { """{"type":"integer","multipleOf":7}""", long.MinValue, long.MaxValue, 7 },
        { """{"type":"integer","minimum":0,"multipleOf":25}""", 0, long.MaxValue, 25 },
        { """{"type":"integer","minimum":-50,"maximum":99999,"multipleOf":12}""", -50, 99999, 12 },
        { """{"type":"integer","exclusiveMaximum":-3,"multipleOf":100}""", long.MinValue, -4, 100 },
    };

    /// <summary>More multiples than are written out: the divisibility automaton, exact over the whole range.</summary>
    [Theory(Timeout = 120_000)]
    [MemberData(nameof(WideMultiples))]
    public void MultipleOf_over_a_wide_range_accepts_exactly_the_multiples_within_it(string schema, long lo, long hi, long step)
    {
        var grammar = Compile(schema);
        var probes = Enumerable.Range(-1300, 2601).Select(v => (long)v).ToList();
        var rng = new Random(5);
        for (int k = 0; k < 200; k++)
        {
            long v = RandomInteger(rng);
            probes.AddRange([v, v - v % step, v - v % step + step]);
        }
        probes.AddRange([99_996, 100_008, 9_999_999_999_999_975, -9_999_999_999_999_900]);
        foreach (long v in probes.Where(v => Math.Abs(v) <= 9_999_999_999_999_999))
            Assert.True(Accepts(grammar, v.ToString(CultureInfo.InvariantCulture)) == (v >= lo && v <= hi && v % step == 0), $"{v}");
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { """{"type":"integer","multipleOf":101}""", "'multipleOf'" },
        { """{"type":"integer","minimum":0,"maximum":1000000,"multipleOf":250}""", "'multipleOf'" },
        { """{"type":"number","minimum":0,"maximum":1,"multipleOf":0.01}""", "'multipleOf'" },
        { """{"type":"integer","multipleOf":0}""", "'multipleOf'" },
        { """{"type":"integer","minimum":5,"maximum":4}""", "no integer" },
        { """{"type":"number","minimum":1,"exclusiveMaximum":1}""", "no number" },
        { """{"type":"integer","exclusiveMinimum":2,"exclusiveMaximum":3}""", "no integer" },
        { """{"type":"integer","maximum":"ten"}""", "'maximum'" },
        { """{"type":"number","exclusiveMinimum":true}""", "'exclusiveMinimum'" },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Refusals))]
    public void What_cannot_be_enforced_is_refused_by_name(string schema, string named)
    {
        var e = Assert.Throws<GrammarException>(() => Grammars.Compile(new GrammarSpec(GrammarKind.JsonSchema, schema)));
        Assert.Contains(named, e.Message);
    }

    [Fact(Timeout = 60_000)]
    public void Bounds_survive_the_gbnf_that_tool_parameters_are_embedded_with()
    {
        string gbnf = "root ::= \"call \" p-root\n" + Grammars.JsonSchemaToGbnf("""{"type":"object","properties":{"n":{"type":"integer","minimum":-3,"maximum":3},"x":{"type":"number","exclusiveMinimum":0,"maximum":0.5}},"required":["n","x"]}""", "p-");
        var grammar = TinyGrammars.Compile(new GrammarSpec(GrammarKind.Gbnf, gbnf));
        Assert.True(Accepts(grammar, """call {"n":-3,"x":0.5}"""));
        Assert.True(Accepts(grammar, """call {"n":3,"x":0.0001}"""));
        Assert.False(Accepts(grammar, """call {"n":4,"x":0.5}"""));
        Assert.False(Accepts(grammar, """call {"n":0,"x":0}"""));
        Assert.False(Accepts(grammar, """call {"n":0,"x":0.50001}"""));
    }

    public static TheoryData<int> Schemas => new(Enumerable.Range(0, StructuredOutputCases.NumericSchemas.Length));

    /// <summary>Sampling at temperature 1 with no model preference: each step picks uniformly among the tokens the mask allows.</summary>
    [Theory(Timeout = 300_000)]
    [MemberData(nameof(Schemas))]
    public async Task Two_hundred_uniform_walks_through_the_masks_only_spell_values_within_the_bounds(int schemaIndex)
    {
        JsonSchemaValidator.RequirePeer();
        string schema = StructuredOutputCases.NumericSchemas[schemaIndex];
        var grammar = Compile(schema);
        var outputs = Enumerable.Range(0, 200).Select(seed => Walk(grammar, seed)).ToList();
        var verdicts = await JsonSchemaValidator.ValidateAsync([.. outputs.Select(o => (schema, o))]);
        Assert.All(outputs.Zip(verdicts), x => Assert.True(x.Second is null, $"{x.First}: {x.Second}"));
    }

    private static string Walk(CompiledGrammar grammar, int seed)
    {
        var (text, ended) = TinyGrammars.Walk(grammar, new Random(seed), maxTokens: 400, budgeted: false);
        Assert.True(ended, $"seed {seed}: no end within 400 tokens: {text}");
        return text;
    }
}
