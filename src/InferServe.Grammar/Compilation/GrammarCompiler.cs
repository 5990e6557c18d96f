using InferServe.Grammar.Syntax;

namespace InferServe.Grammar.Compilation;

/// <summary>
/// Lowers grammar expressions to a <see cref="GrammarProgram"/>: literals become byte sets, code point classes
/// become UTF-8 byte-set sequences, groups and repetitions become helper rules (right-recursive, so stacks stay
/// flat). Refuses left recursion, which a pushdown automaton over stacks cannot run.
/// </summary>
public sealed class GrammarCompiler
{
    private readonly GrammarDefinition _def;
    private readonly Dictionary<string, int> _ruleIds = [];
    private readonly List<string> _names = [];
    private readonly List<List<List<int>>> _bodies = [];
    private readonly Dictionary<string, int> _setIds = [];
    private readonly List<ulong> _sets = [];
    private readonly Dictionary<(int Atom, int Count), int> _optionalChains = [];
    private readonly Dictionary<int, int> _stars = [];
    private readonly Dictionary<GrammarNode, int> _helpers = new(ReferenceEqualityComparer.Instance);
    private string _current = "root";
    private long _size;

    private GrammarCompiler(GrammarDefinition def) => _def = def;

    public static GrammarProgram Compile(GrammarDefinition def) => new GrammarCompiler(def).Run();

    private GrammarProgram Run()
    {
        foreach (var name in _def.Rules.Keys) NewRule(name);
        foreach (var (name, node) in _def.Rules)
        {
            _current = name;
            _bodies[_ruleIds[name]] = Alternatives(node);
        }
        CheckLeftRecursion();
        var code = new List<int>();
        var alternatives = new int[_bodies.Count][];
        for (int r = 0; r < _bodies.Count; r++)
        {
            alternatives[r] = new int[_bodies[r].Count];
            for (int a = 0; a < _bodies[r].Count; a++)
            {
                alternatives[r][a] = code.Count;
                code.AddRange(_bodies[r][a]);
                code.Add(GrammarProgram.End);
            }
        }
        return new GrammarProgram { Code = [.. code], RuleAlternatives = alternatives, Sets = [.. _sets], Root = _ruleIds[_def.Root] };
    }

    private int NewRule(string name)
    {
        int id = _bodies.Count;
        _ruleIds[name] = id;
        _names.Add(name);
        _bodies.Add([]);
        return id;
    }

    private List<List<int>> Alternatives(GrammarNode node)
    {
        var options = node is ChoiceNode c ? c.Options : [node];
        var result = new List<List<int>>(options.Count);
        foreach (var option in options)
        {
            var seq = new List<int>();
            Append(option, seq);
            result.Add(seq);
        }
        return result;
    }

    private void Append(GrammarNode node, List<int> seq)
    {
        switch (node)
        {
            case SequenceNode s:
                foreach (var item in s.Items) Append(item, seq);
                break;
            case LiteralNode l:
                foreach (byte b in l.Bytes) Add(seq, Set([(b, b)]));
                break;
            case ChoiceNode c when c.Options.Count == 1:
                Append(c.Options[0], seq);
                break;
            case RepeatNode r:
                if (r.Max == 0) break;
                int atom = Atom(r.Item);
                for (int i = 0; i < r.Min; i++) Add(seq, atom);
                if (r.Max == -1) Add(seq, Ref(Star(atom)));
                else if (r.Max > r.Min) Add(seq, Ref(Optional(atom, r.Max - r.Min)));
                break;
            default:
                Add(seq, Atom(node));
                break;
        }
    }

    /// <summary>One element standing for the node: a byte set, or a reference to a (helper) rule.</summary>
    private int Atom(GrammarNode node)
    {
        switch (node)
        {
            case RuleRefNode r:
                return _ruleIds.TryGetValue(r.Name, out int id) ? Ref(id) : throw new GrammarException($"Grammar: rule '{r.Name}' is used but never defined.");
            case LiteralNode { Bytes.Length: 1 } l:
                return Set([(l.Bytes[0], l.Bytes[0])]);
            case CharClassNode c when c.Ranges.Count > 0 && c.Ranges[^1].Hi < 0x80:
                return Set([.. c.Ranges.Select(x => ((byte)x.Lo, (byte)x.Hi))]);
            case CharClassNode c:
                if (c.Ranges.Count == 0) throw new GrammarException($"Grammar: an empty character class in rule '{_current}' can never match.");
                return Ref(Helper(node, () =>
                {
                    var sequences = new List<(byte Lo, byte Hi)[]>();
                    foreach (var (lo, hi) in c.Ranges) Utf8Ranges.Split(lo, hi, sequences);
                    return [.. sequences.Select(s => s.Select(x => Set([x])).ToList())];
                }));
            default:
                return Ref(Helper(node, () => Alternatives(node)));
        }
    }

    private int Helper(GrammarNode node, Func<List<List<int>>> body)
    {
        if (_helpers.TryGetValue(node, out int id)) return id;
        id = NewRule($"{_current}#{_bodies.Count}");
        _helpers[node] = id;
        _bodies[id] = body();
        return id;
    }

    /// <summary>S ::= atom S | ε</summary>
    private int Star(int atom)
    {
        if (_stars.TryGetValue(atom, out int id)) return id;
        id = NewRule($"{_current}#{_bodies.Count}*");
        _stars[atom] = id;
        _bodies[id] = [[atom, Ref(id)], []];
        return id;
    }

    /// <summary>O_k ::= atom O_(k-1) | ε, O_1 ::= atom | ε: up to k more, without ambiguity. Built bottom-up (no deep recursion).</summary>
    private int Optional(int atom, int count)
    {
        int previous = -1;
        for (int k = 1; k <= count; k++)
        {
            if (!_optionalChains.TryGetValue((atom, k), out int id))
            {
                id = NewRule($"{_current}#{_bodies.Count}?");
                _optionalChains[(atom, k)] = id;
                _bodies[id] = [k == 1 ? [atom] : [atom, Ref(previous)], []];
                if ((_size += 3) > Limits.MaxCodeSize) throw new GrammarException("Grammar: too large (repetition bounds or schema size).");
            }
            previous = id;
        }
        return previous;
    }

    private void Add(List<int> seq, int element)
    {
        if (++_size > Limits.MaxCodeSize) throw new GrammarException("Grammar: too large (repetition bounds or schema size).");
        seq.Add(element);
    }

    private static int Ref(int rule) => -2 - rule;

    private int Set((byte Lo, byte Hi)[] ranges)
    {
        Span<ulong> bits = stackalloc ulong[4];
        foreach (var (lo, hi) in ranges)
            for (int b = lo; b <= hi; b++) bits[b >> 6] |= 1UL << (b & 63);
        string key = $"{bits[0]:x}.{bits[1]:x}.{bits[2]:x}.{bits[3]:x}";
        if (_setIds.TryGetValue(key, out int id)) return id;
        id = _sets.Count / 4;
        foreach (var w in bits) _sets.Add(w);
        _setIds[key] = id;
        return id;
    }

    private void CheckLeftRecursion()
    {
        int n = _bodies.Count;
        var nullable = new bool[n];
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int r = 0; r < n; r++)
            {
                if (!nullable[r] && _bodies[r].Any(alt => alt.All(e => e <= -2 && nullable[GrammarProgram.RuleOf(e)])))
                    changed = nullable[r] = true;
            }
        }
        var edges = new List<int>[n];
        for (int r = 0; r < n; r++)
        {
            edges[r] = [];
            foreach (var alt in _bodies[r])
            {
                foreach (int e in alt)
                {
                    if (e >= 0) break;
                    int s = GrammarProgram.RuleOf(e);
                    edges[r].Add(s);
                    if (!nullable[s]) break;
                }
            }
        }
        var color = new byte[n];
        for (int r = 0; r < n; r++) Visit(r);

        void Visit(int r)
        {
            if (color[r] == 2) return;
            if (color[r] == 1)
                throw new GrammarException($"Grammar: rule '{Describe(r)}' is left-recursive (or repeats something that can match nothing), which is not supported.");
            color[r] = 1;
            foreach (int s in edges[r]) Visit(s);
            color[r] = 2;
        }
    }

    private string Describe(int rule)
    {
        string name = _names[rule];
        int hash = name.IndexOf('#');
        return hash < 0 ? name : name[..hash];
    }
}
