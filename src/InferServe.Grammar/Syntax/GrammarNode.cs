namespace InferServe.Grammar.Syntax;

/// <summary>A grammar expression over Unicode text, before it is lowered to bytes.</summary>
public abstract record GrammarNode;

public sealed record SequenceNode(IReadOnlyList<GrammarNode> Items) : GrammarNode;

public sealed record ChoiceNode(IReadOnlyList<GrammarNode> Options) : GrammarNode;

/// <summary>Exact text (UTF-8 bytes).</summary>
public sealed record LiteralNode(byte[] Bytes) : GrammarNode
{
    public static LiteralNode Of(string text) => new(System.Text.Encoding.UTF8.GetBytes(text));
}

/// <summary>One code point from sorted, non-overlapping inclusive ranges (already complemented if negated).</summary>
public sealed record CharClassNode(IReadOnlyList<(int Lo, int Hi)> Ranges) : GrammarNode
{
    public const int MaxCodePoint = 0x10FFFF;

    public static CharClassNode Build(IEnumerable<(int Lo, int Hi)> ranges, bool negated)
    {
        var sorted = ranges.OrderBy(r => r.Lo).ToList();
        var merged = new List<(int Lo, int Hi)>();
        foreach (var r in sorted)
        {
            if (merged.Count > 0 && r.Lo <= merged[^1].Hi + 1)
                merged[^1] = (merged[^1].Lo, Math.Max(merged[^1].Hi, r.Hi));
            else merged.Add(r);
        }
        return new CharClassNode(negated ? Complement(merged) : merged);
    }

    public CharClassNode Without(IEnumerable<(int Lo, int Hi)> excluded) =>
        new(Intersect(Ranges, Complement(Build(excluded, false).Ranges)));

    private static List<(int, int)> Complement(IReadOnlyList<(int Lo, int Hi)> merged)
    {
        var result = new List<(int, int)>();
        int next = 0;
        foreach (var (lo, hi) in merged)
        {
            if (lo > next) result.Add((next, lo - 1));
            next = hi + 1;
        }
        if (next <= MaxCodePoint) result.Add((next, MaxCodePoint));
        return result;
    }

    private static List<(int, int)> Intersect(IReadOnlyList<(int Lo, int Hi)> a, IReadOnlyList<(int, int)> b)
    {
        var result = new List<(int, int)>();
        foreach (var (alo, ahi) in a)
        {
            foreach (var (blo, bhi) in b)
            {
                int lo = Math.Max(alo, blo), hi = Math.Min(ahi, bhi);
                if (lo <= hi) result.Add((lo, hi));
            }
        }

        return result;
    }
}

public sealed record RuleRefNode(string Name) : GrammarNode;

/// <summary>Item repeated Min..Max times; Max -1 is unbounded.</summary>
public sealed record RepeatNode(GrammarNode Item, int Min, int Max) : GrammarNode;

/// <summary>Named rules and the one generation starts from.</summary>
public sealed record GrammarDefinition(IReadOnlyDictionary<string, GrammarNode> Rules, string Root);
