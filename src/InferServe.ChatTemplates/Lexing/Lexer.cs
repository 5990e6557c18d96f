using System.Text;

namespace InferServe.ChatTemplates.Lexing;

/// <summary>
/// Tokenizer mirroring @huggingface/jinja's: text runs between tags, whitespace control
/// ({%- -%} {{- -}} {#- -#}), escapes in string literals, and '-'/'+' read as signs
/// (folded into numeric literals) when they cannot be binary operators.
/// </summary>
internal sealed class Lexer
{
    private static readonly (string Seq, TokenType Type)[] OrderedMapping =
    [
        ("{%", TokenType.OpenStatement), ("%}", TokenType.CloseStatement),
        ("{{", TokenType.OpenExpression), ("}}", TokenType.CloseExpression),
        ("(", TokenType.OpenParen), (")", TokenType.CloseParen),
        ("{", TokenType.OpenCurlyBracket), ("}", TokenType.CloseCurlyBracket),
        ("[", TokenType.OpenSquareBracket), ("]", TokenType.CloseSquareBracket),
        (",", TokenType.Comma), (".", TokenType.Dot), (":", TokenType.Colon), ("|", TokenType.Pipe),
        ("<=", TokenType.ComparisonBinaryOperator), (">=", TokenType.ComparisonBinaryOperator),
        ("==", TokenType.ComparisonBinaryOperator), ("!=", TokenType.ComparisonBinaryOperator),
        ("<", TokenType.ComparisonBinaryOperator), (">", TokenType.ComparisonBinaryOperator),
        ("+", TokenType.AdditiveBinaryOperator), ("-", TokenType.AdditiveBinaryOperator), ("~", TokenType.AdditiveBinaryOperator),
        ("**", TokenType.ExponentiationBinaryOperator), // before "*"
        ("*", TokenType.MultiplicativeBinaryOperator),
        ("//", TokenType.MultiplicativeBinaryOperator), // before "/"
        ("/", TokenType.MultiplicativeBinaryOperator), ("%", TokenType.MultiplicativeBinaryOperator),
        ("=", TokenType.Equals),
    ];

    private readonly SourceText _source;
    private readonly string _src;
    private readonly int[] _map;
    private readonly List<Token> _tokens = [];
    private int _pos;

    private Lexer(SourceText source)
    {
        _source = source;
        (_src, _map) = Preprocessor.Run(source.Source);
    }

    public static List<Token> Tokenize(SourceText source) => new Lexer(source).Run();

    private int Orig(int i) => _map[Math.Clamp(i, 0, _map.Length - 1)];

    private ChatTemplateException Error(string message) => _source.SyntaxError(message, Orig(_pos));

    private char At(int i) => i < _src.Length ? _src[i] : '\0';

    private bool StartsWith(string seq) => _src.AsSpan(_pos).StartsWith(seq, StringComparison.Ordinal);

    private void Push(string value, TokenType type, int start) => _tokens.Add(new Token(value, type, Orig(start)));

    private string ConsumeWhile(Func<char, bool> predicate)
    {
        var sb = new StringBuilder();
        while (_pos < _src.Length && predicate(_src[_pos]))
        {
            if (_src[_pos] == '\\')
            {
                ++_pos;
                if (_pos >= _src.Length) throw Error("Unexpected end of input");
                char escaped = _src[_pos++];
                if (escaped is 'x' or 'u')
                {
                    int length = escaped == 'x' ? 2 : 4;
                    if (_pos + length > _src.Length || _src.AsSpan(_pos, length).ContainsAnyExcept("0123456789abcdefABCDEF"))
                        throw Error($"Invalid hexadecimal escape sequence: \\{escaped}");
                    sb.Append((char)Convert.ToInt32(_src.Substring(_pos, length), 16));
                    _pos += length;
                    continue;
                }
                sb.Append(escaped switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\b',
                    'f' => '\f',
                    'v' => '\v',
                    '\'' => '\'',
                    '"' => '"',
                    '\\' => '\\',
                    _ => throw Error($"Unexpected escaped character: {escaped}"),
                });
                continue;
            }
            sb.Append(_src[_pos++]);
            if (_pos >= _src.Length) throw Error("Unexpected end of input");
        }
        return sb.ToString();
    }

    private void StripTrailingWhitespace()
    {
        if (_tokens.Count > 0 && _tokens[^1].Type == TokenType.Text)
        {
            var last = _tokens[^1];
            var trimmed = JsText.TrimEnd(last.Value);
            if (trimmed.Length == 0) _tokens.RemoveAt(_tokens.Count - 1);
            else _tokens[^1] = last with { Value = trimmed };
        }
    }

    private void SkipLeadingWhitespace()
    {
        while (_pos < _src.Length && JsText.IsWhitespace(_src[_pos])) ++_pos;
    }

    private List<Token> Run()
    {
        int curlyDepth = 0;
        while (_pos < _src.Length)
        {
            var lastType = _tokens.Count == 0 ? (TokenType?)null : _tokens[^1].Type;
            if (lastType is null or TokenType.CloseStatement or TokenType.CloseExpression or TokenType.Comment)
            {
                int start = _pos;
                while (_pos < _src.Length && !(_src[_pos] == '{' && At(_pos + 1) is '%' or '{' or '#')) _pos++;
                if (_pos > start)
                {
                    Push(_src[start.._pos], TokenType.Text, start);
                    continue;
                }
            }

            if (StartsWith("{#"))
            {
                int start = _pos;
                _pos += 2;
                bool stripBefore = At(_pos) == '-';
                if (stripBefore) ++_pos;
                int bodyStart = _pos;
                while (!(At(_pos) == '#' && At(_pos + 1) == '}'))
                {
                    if (_pos + 2 >= _src.Length) throw _source.SyntaxError("Missing end of comment tag", Orig(start));
                    _pos++;
                }
                string comment = _src[bodyStart.._pos];
                bool stripAfter = comment.EndsWith('-');
                if (stripAfter) comment = comment[..^1];
                if (stripBefore) StripTrailingWhitespace();
                Push(comment, TokenType.Comment, start);
                _pos += 2;
                if (stripAfter) SkipLeadingWhitespace();
                continue;
            }
            if (StartsWith("{%-"))
            {
                StripTrailingWhitespace();
                Push("{%", TokenType.OpenStatement, _pos);
                _pos += 3;
                continue;
            }
            if (StartsWith("{{-"))
            {
                StripTrailingWhitespace();
                Push("{{", TokenType.OpenExpression, _pos);
                curlyDepth = 0;
                _pos += 3;
                continue;
            }

            ConsumeWhile(JsText.IsWhitespace);
            if (_pos >= _src.Length) break;
            if (StartsWith("-%}"))
            {
                Push("%}", TokenType.CloseStatement, _pos);
                _pos += 3;
                SkipLeadingWhitespace();
                continue;
            }
            if (StartsWith("-}}"))
            {
                Push("}}", TokenType.CloseExpression, _pos);
                _pos += 3;
                SkipLeadingWhitespace();
                continue;
            }

            char c = _src[_pos];
            if (c is '-' or '+')
            {
                var prev = _tokens.Count == 0 ? (TokenType?)null : _tokens[^1].Type;
                if (prev is null or TokenType.Text) throw Error($"Unexpected character: {c}");
                if (prev is not (TokenType.Identifier or TokenType.NumericLiteral or TokenType.StringLiteral
                    or TokenType.CloseParen or TokenType.CloseSquareBracket))
                {
                    int start = _pos++;
                    string num = ConsumeWhile(char.IsAsciiDigit);
                    if (num.Length > 0 && At(_pos) == '.' && char.IsAsciiDigit(At(_pos + 1)))
                    {
                        ++_pos;
                        num = $"{num}.{ConsumeWhile(char.IsAsciiDigit)}";
                    }
                    Push($"{c}{num}", num.Length > 0 ? TokenType.NumericLiteral : TokenType.UnaryOperator, start);
                    continue;
                }
            }

            bool matched = false;
            foreach (var (seq, type) in OrderedMapping)
            {
                if (seq == "}}" && curlyDepth > 0) continue;
                if (!StartsWith(seq)) continue;
                Push(seq, type, _pos);
                if (type == TokenType.OpenExpression) curlyDepth = 0;
                else if (type == TokenType.OpenCurlyBracket) ++curlyDepth;
                else if (type == TokenType.CloseCurlyBracket) --curlyDepth;
                _pos += seq.Length;
                matched = true;
                break;
            }
            if (matched) continue;

            if (c is '\'' or '"')
            {
                int start = _pos++;
                string str;
                try { str = ConsumeWhile(ch => ch != c); }
                catch (ChatTemplateException) { throw _source.SyntaxError("Unterminated string literal", Orig(start)); }
                Push(str, TokenType.StringLiteral, start);
                ++_pos;
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                int start = _pos;
                string num = ConsumeWhile(char.IsAsciiDigit);
                if ((_tokens.Count == 0 || _tokens[^1].Type != TokenType.Dot) && At(_pos) == '.' && char.IsAsciiDigit(At(_pos + 1)))
                {
                    ++_pos;
                    num = $"{num}.{ConsumeWhile(char.IsAsciiDigit)}";
                }
                Push(num, TokenType.NumericLiteral, start);
                continue;
            }
            if (JsText.IsWord(c))
            {
                int start = _pos;
                Push(ConsumeWhile(JsText.IsWord), TokenType.Identifier, start);
                continue;
            }
            throw Error($"Unexpected character: {c}");
        }
        return _tokens;
    }
}
