using System.Text;

namespace InferServe.Grammar.Syntax;

/// <summary>
/// Parses llama.cpp's GBNF: <c>name ::= alternatives</c> rules, "literals", [classes], (groups), <c>.</c>,
/// postfix <c>* + ? {m} {m,} {m,n}</c>, and # comments. A rule ends at a newline outside parentheses unless the
/// next line continues it with <c>|</c>. The start rule is <c>root</c>.
/// </summary>
public sealed class GbnfParser
{
    private readonly string _s;
    private int _pos;

    private GbnfParser(string source) => _s = source;

    public static GrammarDefinition Parse(string source)
    {
        var p = new GbnfParser(source);
        var rules = new Dictionary<string, GrammarNode>();
        p.SkipSpace(newlines: true);
        while (p._pos < p._s.Length)
        {
            string name = p.Name();
            p.SkipSpace(newlines: false);
            if (!p.TryConsume("::=")) throw p.Error($"expected '::=' after rule name '{name}'");
            p.SkipSpace(newlines: true);
            var body = p.Alternatives(nested: false);
            if (!rules.TryAdd(name, body)) throw new GrammarException($"Grammar: rule '{name}' is defined twice.");
            p.SkipSpace(newlines: true);
        }
        if (!rules.ContainsKey("root")) throw new GrammarException("Grammar: there is no 'root' rule.");
        foreach (var name in ReferencedNames(rules.Values))
            if (!rules.ContainsKey(name)) throw new GrammarException($"Grammar: rule '{name}' is used but never defined.");
        return new GrammarDefinition(rules, "root");
    }

    private static IEnumerable<string> ReferencedNames(IEnumerable<GrammarNode> nodes)
    {
        foreach (var n in nodes)
        {
            switch (n)
            {
                case RuleRefNode r: yield return r.Name; break;
                case SequenceNode s: foreach (var x in ReferencedNames(s.Items)) yield return x; break;
                case ChoiceNode c: foreach (var x in ReferencedNames(c.Options)) yield return x; break;
                case RepeatNode r: foreach (var x in ReferencedNames([r.Item])) yield return x; break;
            }
        }
    }

    private GrammarNode Alternatives(bool nested)
    {
        var options = new List<GrammarNode> { Sequence(nested) };
        while (true)
        {
            int save = _pos;
            SkipSpace(newlines: true);
            if (Peek() == '|')
            {
                _pos++;
                SkipSpace(newlines: true);
                options.Add(Sequence(nested));
                continue;
            }
            _pos = save;
            break;
        }
        return options.Count == 1 ? options[0] : new ChoiceNode(options);
    }

    private GrammarNode Sequence(bool nested)
    {
        var items = new List<GrammarNode>();
        while (true)
        {
            SkipSpace(newlines: nested);
            char c = Peek();
            if (c is '\0' or '|' or ')' or '\n' or '\r') break;
            // The next rule's "name ::=" ends this one (a rule may follow on the same line only after a newline).
            var item = Primary(nested);
            items.Add(Postfix(item));
        }
        return items.Count == 1 ? items[0] : new SequenceNode(items);
    }

    private GrammarNode Primary(bool nested)
    {
        char c = Peek();
        switch (c)
        {
            case '"':
                {
                    _pos++;
                    var bytes = new List<byte>();
                    while (Peek() != '"')
                    {
                        if (_pos >= _s.Length) throw Error("unterminated string literal");
                        AppendUtf8(bytes, Char());
                    }
                    _pos++;
                    return new LiteralNode([.. bytes]);
                }
            case '[':
                {
                    _pos++;
                    bool negated = TryConsume("^");
                    var ranges = new List<(int, int)>();
                    while (Peek() != ']')
                    {
                        if (_pos >= _s.Length) throw Error("unterminated character class");
                        int lo = Char();
                        int hi = lo;
                        if (Peek() == '-' && _pos + 1 < _s.Length && _s[_pos + 1] != ']')
                        {
                            _pos++;
                            hi = Char();
                            if (hi < lo) throw Error($"character range is reversed");
                        }
                        ranges.Add((lo, hi));
                    }
                    _pos++;
                    return CharClassNode.Build(ranges, negated);
                }
            case '(':
                {
                    _pos++;
                    SkipSpace(newlines: true);
                    var inner = Alternatives(nested: true);
                    SkipSpace(newlines: true);
                    if (!TryConsume(")")) throw Error("expected ')'");
                    return inner;
                }
            case '.':
                _pos++;
                return CharClassNode.Build([], negated: true);
            default:
                if (IsNameChar(c))
                {
                    string name = Name();
                    int save = _pos;
                    SkipSpace(newlines: false);
                    if (_s.AsSpan(_pos).StartsWith("::=")) throw Error($"missing newline before rule '{name}'");
                    _pos = save;
                    return new RuleRefNode(name);
                }
                throw Error($"unexpected '{c}'");
        }
    }

    private GrammarNode Postfix(GrammarNode item)
    {
        while (true)
        {
            char c = Peek();
            if (c == '*') { _pos++; item = new RepeatNode(item, 0, -1); }
            else if (c == '+') { _pos++; item = new RepeatNode(item, 1, -1); }
            else if (c == '?') { _pos++; item = new RepeatNode(item, 0, 1); }
            else if (c == '{')
            {
                _pos++;
                SkipSpace(false);
                int min = Int();
                int max = min;
                SkipSpace(false);
                if (TryConsume(","))
                {
                    SkipSpace(false);
                    max = char.IsAsciiDigit(Peek()) ? Int() : -1;
                    SkipSpace(false);
                }
                if (!TryConsume("}")) throw Error("expected '}'");
                if (max != -1 && max < min) throw Error($"repetition {{{min},{max}}} has max below min");
                item = new RepeatNode(item, min, max);
            }
            else
            {
                return item;
            }
        }
    }

    private int Int()
    {
        int start = _pos;
        while (char.IsAsciiDigit(Peek())) _pos++;
        if (start == _pos || !int.TryParse(_s.AsSpan(start, _pos - start), out int v) || v > Limits.MaxRepeat)
            throw Error($"expected a repetition count up to {Limits.MaxRepeat}");
        return v;
    }

    /// <summary>One character of a literal or class, with escapes; returns a code point.</summary>
    private int Char()
    {
        char c = _s[_pos++];
        if (c != '\\')
        {
            if (char.IsHighSurrogate(c) && _pos < _s.Length && char.IsLowSurrogate(_s[_pos])) return char.ConvertToUtf32(c, _s[_pos++]);
            return c;
        }
        if (_pos >= _s.Length) throw Error("dangling escape");
        char e = _s[_pos++];
        return e switch
        {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '\\' => '\\',
            '"' => '"',
            '[' => '[',
            ']' => ']',
            '-' => '-',
            '^' => '^',
            '/' => '/',
            'x' => Hex(2),
            'u' => Hex(4),
            'U' => Hex(8),
            _ => throw Error($"unknown escape '\\{e}'"),
        };
    }

    private int Hex(int digits)
    {
        if (_pos + digits > _s.Length || !int.TryParse(_s.AsSpan(_pos, digits), System.Globalization.NumberStyles.HexNumber, null, out int v) || v > CharClassNode.MaxCodePoint)
            throw Error($"expected {digits} hex digits");
        _pos += digits;
        return v;
    }

    private string Name()
    {
        int start = _pos;
        while (IsNameChar(Peek())) _pos++;
        if (start == _pos) throw Error("expected a rule name");
        return _s[start.._pos];
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private void SkipSpace(bool newlines)
    {
        while (_pos < _s.Length)
        {
            char c = _s[_pos];
            if (c == '#') { while (_pos < _s.Length && _s[_pos] != '\n') _pos++; }
            else if (c is ' ' or '\t' || (newlines && c is '\n' or '\r'))
            {
                _pos++;
            }
            else
            {
                break;
            }
        }
    }

    private char Peek() => _pos < _s.Length ? _s[_pos] : '\0';

    private bool TryConsume(string token)
    {
        if (!_s.AsSpan(_pos).StartsWith(token, StringComparison.Ordinal)) return false;
        _pos += token.Length;
        return true;
    }

    private GrammarException Error(string what)
    {
        int line = 1, col = 1;
        for (int i = 0; i < _pos && i < _s.Length; i++)
        {
            if (_s[i] == '\n') { line++; col = 1; }
            else
            {
                col++;
            }
        }
        return new GrammarException($"Grammar: {what} at line {line}, column {col}.");
    }

    internal static void AppendUtf8(List<byte> bytes, int codePoint)
    {
        Span<byte> buf = stackalloc byte[4];
        int n = new Rune(codePoint is >= 0xD800 and <= 0xDFFF ? 0xFFFD : codePoint).EncodeToUtf8(buf);
        for (int i = 0; i < n; i++) bytes.Add(buf[i]);
    }
}

/// <summary>Bounds that keep one request from building a huge automaton.</summary>
public static class Limits
{
    public const int MaxRepeat = 10_000;
    public const int MaxCodeSize = 4_000_000;
    public const int MaxSourceLength = 1_000_000;
}
