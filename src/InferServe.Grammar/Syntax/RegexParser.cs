namespace InferServe.Grammar.Syntax;

/// <summary>
/// Parses a regular expression (the common subset of ECMAScript, Python and RE2) into a grammar expression that
/// matches the whole text: literals and escapes, <c>.</c>, classes with <c>\d \w \s</c>, groups (capturing,
/// <c>(?:)</c>, named), alternation, and greedy or lazy quantifiers. Leading <c>^</c> and trailing <c>$</c> are
/// accepted; backreferences, lookaround and word boundaries are refused by name.
/// </summary>
public sealed class RegexParser
{
    private static readonly (int, int)[] Digit = [('0', '9')];
    private static readonly (int, int)[] Word = [('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
    private static readonly (int, int)[] Space = [('\t', '\r'), (' ', ' ')];

    private readonly string _s;
    private readonly string _what;
    private int _pos;

    private RegexParser(string source, string what)
    {
        _s = source;
        _what = what;
    }

    public static GrammarNode Parse(string pattern, string what = "Regex")
    {
        var p = new RegexParser(pattern, what);
        if (p.Peek() == '^') p._pos++;
        var node = p.Alternation();
        if (p._pos < p._s.Length) throw p.Error(p.Peek() == ')' ? "unbalanced ')'" : $"unexpected '{p.Peek()}'");
        return node;
    }

    public static GrammarDefinition ParseDefinition(string pattern) =>
        new(new Dictionary<string, GrammarNode> { ["root"] = Parse(pattern) }, "root");

    private GrammarNode Alternation()
    {
        var options = new List<GrammarNode> { Concatenation() };
        while (Peek() == '|')
        {
            _pos++;
            options.Add(Concatenation());
        }
        return options.Count == 1 ? options[0] : new ChoiceNode(options);
    }

    private GrammarNode Concatenation()
    {
        var items = new List<GrammarNode>();
        while (_pos < _s.Length && Peek() is not ('|' or ')'))
        {
            if (Peek() == '$' && _pos == _s.Length - 1) { _pos++; break; }
            items.Add(Quantified(Atom()));
        }
        return items.Count == 1 ? items[0] : new SequenceNode(items);
    }

    private GrammarNode Quantified(GrammarNode atom)
    {
        while (_pos < _s.Length)
        {
            char c = Peek();
            int min, max;
            if (c == '*') { min = 0; max = -1; _pos++; }
            else if (c == '+') { min = 1; max = -1; _pos++; }
            else if (c == '?') { min = 0; max = 1; _pos++; }
            else if (c == '{' && TryCounted(out min, out max)) { }
            else
            {
                return atom;
            }

            if (Peek() == '?') _pos++; // lazy: same language
            else if (Peek() == '+') throw Error("possessive quantifiers are not supported");
            atom = new RepeatNode(atom, min, max);
        }
        return atom;
    }

    private bool TryCounted(out int min, out int max)
    {
        min = max = 0;
        int save = _pos;
        _pos++;
        if (!TryInt(out min)) { _pos = save; return false; }
        max = min;
        if (Peek() == ',')
        {
            _pos++;
            max = TryInt(out int m) ? m : -1;
        }
        if (Peek() != '}') { _pos = save; return false; }
        _pos++;
        if (max != -1 && max < min) throw Error($"quantifier {{{min},{max}}} has max below min");
        return true;
    }

    private bool TryInt(out int value)
    {
        int start = _pos;
        while (char.IsAsciiDigit(Peek())) _pos++;
        value = 0;
        if (start == _pos) return false;
        if (!int.TryParse(_s.AsSpan(start, _pos - start), out value) || value > Limits.MaxRepeat)
            throw Error($"repetition counts are limited to {Limits.MaxRepeat}");
        return true;
    }

    private GrammarNode Atom()
    {
        char c = _s[_pos++];
        switch (c)
        {
            case '(':
                if (Peek() == '?')
                {
                    _pos++;
                    char k = _pos < _s.Length ? _s[_pos] : '\0';
                    if (k == ':')
                    {
                        _pos++;
                    }
                    else if (k == 'P' && _pos + 1 < _s.Length && _s[_pos + 1] == '<') { _pos += 2; SkipGroupName(); }
                    else if (k == '<' && _pos + 1 < _s.Length && _s[_pos + 1] is not ('=' or '!')) { _pos++; SkipGroupName(); }
                    else if (k is '=' or '!' or '<')
                    {
                        throw Error("lookaround assertions are not supported");
                    }
                    else
                    {
                        throw Error($"group flag '(?{k}' is not supported");
                    }
                }
                var inner = Alternation();
                if (Peek() != ')') throw Error("missing ')'");
                _pos++;
                return inner;
            case '[': return Class();
            case '.': return CharClassNode.Build([('\n', '\n')], negated: true);
            case '\\': return Escape(inClass: false) is { } ranges ? CharClassNode.Build(ranges, false) : throw Error("bad escape");
            case '*' or '+' or '?': throw Error($"nothing to repeat before '{c}'");
            case '^' or '$': throw Error($"anchor '{c}' is only supported at the start or end of the pattern");
            default:
                _pos--;
                int cp = char.ConvertToUtf32(_s, _pos);
                _pos += char.IsSurrogatePair(_s, _pos) ? 2 : 1;
                return CharClassNode.Build([(cp, cp)], false);
        }
    }

    private void SkipGroupName()
    {
        while (_pos < _s.Length && _s[_pos] != '>') _pos++;
        if (_pos >= _s.Length) throw Error("unterminated group name");
        _pos++;
    }

    private GrammarNode Class()
    {
        bool negated = Peek() == '^';
        if (negated) _pos++;
        var ranges = new List<(int, int)>();
        bool first = true;
        while (true)
        {
            if (_pos >= _s.Length) throw Error("missing ']'");
            char c = _s[_pos];
            if (c == ']' && !first) { _pos++; break; }
            first = false;
            _pos++;
            int lo;
            if (c == '\\')
            {
                var set = Escape(inClass: true)!;
                if (set.Length != 1 || set[0].Item1 != set[0].Item2) { ranges.AddRange(set); continue; }
                lo = set[0].Item1;
            }
            else
            {
                _pos--;
                lo = char.ConvertToUtf32(_s, _pos);
                _pos += char.IsSurrogatePair(_s, _pos) ? 2 : 1;
            }
            int hi = lo;
            if (Peek() == '-' && _pos + 1 < _s.Length && _s[_pos + 1] != ']')
            {
                _pos++;
                char h = _s[_pos++];
                if (h == '\\')
                {
                    var set = Escape(inClass: true)!;
                    if (set.Length != 1 || set[0].Item1 != set[0].Item2) throw Error("a class escape cannot end a range");
                    hi = set[0].Item1;
                }
                else
                {
                    _pos--;
                    hi = char.ConvertToUtf32(_s, _pos);
                    _pos += char.IsSurrogatePair(_s, _pos) ? 2 : 1;
                }
                if (hi < lo) throw Error("character range is reversed");
            }
            ranges.Add((lo, hi));
        }
        return CharClassNode.Build(ranges, negated);
    }

    /// <summary>After a backslash: the code point ranges the escape stands for.</summary>
    private (int, int)[]? Escape(bool inClass)
    {
        if (_pos >= _s.Length) throw Error("dangling '\\'");
        char e = _s[_pos++];
        switch (e)
        {
            case 'd': return Digit;
            case 'w': return Word;
            case 's': return Space;
            case 'D': return [.. CharClassNode.Build(Digit, true).Ranges];
            case 'W': return [.. CharClassNode.Build(Word, true).Ranges];
            case 'S': return [.. CharClassNode.Build(Space, true).Ranges];
            case 'n': return [('\n', '\n')];
            case 't': return [('\t', '\t')];
            case 'r': return [('\r', '\r')];
            case 'f': return [('\f', '\f')];
            case 'v': return [('\v', '\v')];
            case '0': return [(0, 0)];
            case 'x': return Single(Hex(2));
            case 'u':
                if (Peek() == '{')
                {
                    _pos++;
                    int start = _pos;
                    while (_pos < _s.Length && _s[_pos] != '}') _pos++;
                    if (_pos >= _s.Length || !int.TryParse(_s.AsSpan(start, _pos - start), System.Globalization.NumberStyles.HexNumber, null, out int v) || v > CharClassNode.MaxCodePoint)
                        throw Error("bad \\u{...} escape");
                    _pos++;
                    return Single(v);
                }
                return Single(Hex(4));
            case 'b' when inClass: return [('\b', '\b')];
            case 'b' or 'B': throw Error($"word boundaries ('\\{e}') are not supported");
            case >= '1' and <= '9': throw Error("backreferences are not supported");
            case 'A' or 'z' or 'Z' or 'G': throw Error($"anchor '\\{e}' is not supported");
            case 'p' or 'P': throw Error($"Unicode property classes ('\\{e}') are not supported");
            default:
                if (char.IsAsciiLetterOrDigit(e)) throw Error($"unknown escape '\\{e}'");
                return Single(e);
        }
    }

    private static (int, int)[] Single(int cp) => [(cp, cp)];

    private int Hex(int digits)
    {
        if (_pos + digits > _s.Length || !int.TryParse(_s.AsSpan(_pos, digits), System.Globalization.NumberStyles.HexNumber, null, out int v))
            throw Error($"expected {digits} hex digits");
        _pos += digits;
        return v;
    }

    private char Peek() => _pos < _s.Length ? _s[_pos] : '\0';

    private GrammarException Error(string what) => new($"{_what}: {what} at position {_pos} of '{_s}'.");
}
