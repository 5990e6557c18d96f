using System.Globalization;
using InferServe.ChatTemplates.Lexing;

namespace InferServe.ChatTemplates.Parsing;

/// <summary>
/// Recursive-descent parser with @huggingface/jinja's grammar and precedence
/// (lowest first): ternary, or, and, not, comparison/in, + - ~, * / // %, **, is-test, filter, unary sign, call/member.
/// Nesting depth is capped so hostile templates cannot overflow the stack.
/// </summary>
internal sealed class Parser
{
    private readonly List<Token> _tokens;
    private readonly SourceText _source;
    private readonly int _maxDepth;
    private int _current;
    private int _depth;

    private Parser(List<Token> tokens, SourceText source, int maxDepth)
    {
        _tokens = tokens;
        _source = source;
        _maxDepth = maxDepth;
    }

    public static IReadOnlyList<Node> Parse(SourceText source, int maxDepth)
    {
        var parser = new Parser(Lexer.Tokenize(source), source, maxDepth);
        var body = new List<Node>();
        while (parser._current < parser._tokens.Count) body.Add(parser.ParseAny());
        return body;
    }

    // ---- helpers ----
    private int Pos => _current < _tokens.Count ? _tokens[_current].Position : _source.Source.Length;

    private ChatTemplateException Error(string message) => _source.SyntaxError(message, Pos);

    private Token Peek(int offset = 0) =>
        _current + offset < _tokens.Count ? _tokens[_current + offset] : throw Error("Unexpected end of template");

    private bool Is(TokenType type) => _current < _tokens.Count && _tokens[_current].Type == type;

    private bool IsIdentifier(string name, int offset = 0) =>
        _current + offset < _tokens.Count && _tokens[_current + offset] is { Type: TokenType.Identifier } t && t.Value == name;

    private bool IsStatement(params string[] names) =>
        Is(TokenType.OpenStatement) && _current + 1 < _tokens.Count
        && _tokens[_current + 1].Type == TokenType.Identifier && names.Contains(_tokens[_current + 1].Value);

    private Token Expect(TokenType type, string what)
    {
        if (_current >= _tokens.Count) throw Error($"Expected {what}, reached end of template");
        var token = _tokens[_current];
        if (token.Type != type) throw Error($"Expected {what}, got '{token.Value}'");
        _current++;
        return token;
    }

    private void ExpectIdentifier(string name)
    {
        if (!IsIdentifier(name)) throw Error($"Expected '{name}'");
        _current++;
    }

    private void Enter()
    {
        if (++_depth > _maxDepth) throw Error($"Template nesting deeper than {_maxDepth}");
    }

    // ---- statements ----
    private Node ParseAny()
    {
        Enter();
        try
        {
            var token = Peek();
            switch (token.Type)
            {
                case TokenType.Comment: _current++; return new CommentNode(token.Position);
                case TokenType.Text: _current++; return new TextNode(token.Value, token.Position);
                case TokenType.OpenStatement: return ParseStatement();
                case TokenType.OpenExpression:
                    _current++;
                    var expr = ParseExpression();
                    Expect(TokenType.CloseExpression, "'}}'");
                    return new OutputNode(expr, token.Position);
                default: throw Error($"Unexpected '{token.Value}'");
            }
        }
        finally { _depth--; }
    }

    private List<Node> ParseBodyUntil(params string[] ends)
    {
        var body = new List<Node>();
        while (!IsStatement(ends))
        {
            if (_current >= _tokens.Count) throw Error($"Unexpected end of template, expected {{% {string.Join(" or ", ends)} %}}");
            body.Add(ParseAny());
        }
        return body;
    }

    private void ExpectEnd(string name)
    {
        Expect(TokenType.OpenStatement, "'{%'");
        ExpectIdentifier(name);
        Expect(TokenType.CloseStatement, "'%}'");
    }

    private Node ParseStatement()
    {
        var open = Expect(TokenType.OpenStatement, "'{%'");
        if (!Is(TokenType.Identifier)) throw Error("Expected statement name");
        string name = Peek().Value;
        _current++;
        switch (name)
        {
            case "set": return ParseSet(open.Position);
            case "if":
                {
                    var node = ParseIf(open.Position);
                    ExpectEnd("endif");
                    return node;
                }
            case "for":
                {
                    var node = ParseFor(open.Position);
                    ExpectEnd("endfor");
                    return node;
                }
            case "macro":
                {
                    var nameToken = Expect(TokenType.Identifier, "macro name");
                    var parameters = ParseArgs(parameters: true);
                    Expect(TokenType.CloseStatement, "'%}'");
                    var body = ParseBodyUntil("endmacro");
                    ExpectEnd("endmacro");
                    return new MacroNode(nameToken.Value, parameters, body, open.Position);
                }
            case "break":
                Expect(TokenType.CloseStatement, "'%}'");
                return new BreakNode(open.Position);
            case "continue":
                Expect(TokenType.CloseStatement, "'%}'");
                return new ContinueNode(open.Position);
            default:
                _current--;
                throw Error($"Unknown statement '{name}'");
        }
    }

    private Node ParseSet(int position)
    {
        var target = ParseExpressionSequence();
        if (target is not (Identifier or TupleLiteral or MemberExpr { Computed: false }))
            throw Error("Invalid assignment target");
        if (Is(TokenType.Equals))
        {
            _current++;
            var value = ParseExpressionSequence();
            Expect(TokenType.CloseStatement, "'%}'");
            return new SetNode(target, value, [], position);
        }
        Expect(TokenType.CloseStatement, "'%}'");
        var body = ParseBodyUntil("endset");
        ExpectEnd("endset");
        return new SetNode(target, null, body, position);
    }

    private IfNode ParseIf(int position)
    {
        var test = ParseExpression();
        Expect(TokenType.CloseStatement, "'%}'");
        var body = ParseBodyUntil("elif", "else", "endif");
        var alternate = new List<Node>();
        if (IsStatement("elif"))
        {
            int elifPos = Peek().Position;
            _current += 2;
            alternate.Add(ParseIf(elifPos));
        }
        else if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "'%}'");
            alternate.AddRange(ParseBodyUntil("endif"));
        }
        return new IfNode(test, body, alternate, position);
    }

    private ForNode ParseFor(int position)
    {
        var loopVar = ParseExpressionSequence(primary: true);
        if (loopVar is not (Identifier or TupleLiteral)) throw Error("Expected identifier or tuple as the loop variable");
        if (!IsIdentifier("in")) throw Error("Expected 'in' after the loop variable");
        _current++;
        var iterable = ParseExpression();
        Expr? filter = null;
        if (iterable is SelectExpr select)
        {
            iterable = select.Value;
            filter = select.Condition;
        }
        Expect(TokenType.CloseStatement, "'%}'");
        var body = ParseBodyUntil("endfor", "else");
        var elseBody = new List<Node>();
        if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "'%}'");
            elseBody = ParseBodyUntil("endfor");
        }
        return new ForNode(loopVar, iterable, filter, body, elseBody, position);
    }

    // ---- expressions ----
    private Expr ParseExpressionSequence(bool primary = false)
    {
        int position = Pos;
        var first = primary ? ParsePrimary() : ParseExpression();
        if (!Is(TokenType.Comma)) return first;
        var items = new List<Expr> { first };
        while (Is(TokenType.Comma))
        {
            _current++;
            items.Add(primary ? ParsePrimary() : ParseExpression());
        }
        return new TupleLiteral(items, position);
    }

    private Expr ParseExpression()
    {
        Enter();
        try { return ParseIfExpression(); }
        finally { _depth--; }
    }

    private Expr ParseIfExpression()
    {
        var a = ParseOr();
        if (!IsIdentifier("if")) return a;
        int position = Pos;
        _current++;
        var test = ParseOr();
        if (IsIdentifier("else"))
        {
            _current++;
            var b = ParseExpression();
            return new TernaryExpr(test, a, b, position);
        }
        return new SelectExpr(a, test, position);
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (IsIdentifier("or"))
        {
            int position = Pos;
            _current++;
            left = new BinaryExpr("or", left, ParseAnd(), position);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (IsIdentifier("and"))
        {
            int position = Pos;
            _current++;
            left = new BinaryExpr("and", left, ParseNot(), position);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (!IsIdentifier("not")) return ParseComparison();
        int position = Pos;
        _current++;
        Enter();
        try { return new UnaryExpr("not", ParseNot(), position); }
        finally { _depth--; }
    }

    private Expr ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            int position = Pos;
            string op;
            if (IsIdentifier("not") && IsIdentifier("in", 1)) { op = "not in"; _current += 2; }
            else if (IsIdentifier("in")) { op = "in"; _current++; }
            else if (Is(TokenType.ComparisonBinaryOperator)) { op = Peek().Value; _current++; }
            else
            {
                break;
            }

            left = new BinaryExpr(op, left, ParseAdditive(), position);
        }
        return left;
    }

    private Expr ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Is(TokenType.AdditiveBinaryOperator))
        {
            var op = Peek();
            _current++;
            left = new BinaryExpr(op.Value, left, ParseMultiplicative(), op.Position);
        }
        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParsePower();
        while (Is(TokenType.MultiplicativeBinaryOperator))
        {
            var op = Peek();
            _current++;
            left = new BinaryExpr(op.Value, left, ParsePower(), op.Position);
        }
        return left;
    }

    private Expr ParsePower()
    {
        var left = ParseTest();
        while (Is(TokenType.ExponentiationBinaryOperator))
        {
            var op = Peek();
            _current++;
            left = new BinaryExpr(op.Value, left, ParseTest(), op.Position);
        }
        return left;
    }

    private Expr ParseTest()
    {
        var operand = ParseFilter();
        while (IsIdentifier("is"))
        {
            int position = Pos;
            _current++;
            bool negate = IsIdentifier("not");
            if (negate) _current++;
            // Test names may be keywords such as none/true/false.
            var name = Expect(TokenType.Identifier, "test name").Value;
            IReadOnlyList<Expr> args = [];
            if (Is(TokenType.OpenParen)) args = ParseArgs(parameters: false);
            else if (Is(TokenType.NumericLiteral) || Is(TokenType.StringLiteral)) args = [ParsePrimary()];
            operand = new TestExpr(operand, negate, name, args, position);
        }
        return operand;
    }

    private Expr ParseFilter()
    {
        var operand = ParseUnarySign();
        while (Is(TokenType.Pipe))
        {
            _current++;
            var name = Expect(TokenType.Identifier, "filter name");
            IReadOnlyList<Expr>? args = Is(TokenType.OpenParen) ? ParseArgs(parameters: false) : null;
            operand = new FilterExpr(operand, name.Value, args, name.Position);
        }
        return operand;
    }

    private Expr ParseUnarySign()
    {
        if ((Is(TokenType.UnaryOperator) || Is(TokenType.AdditiveBinaryOperator)) && Peek().Value is "-" or "+")
        {
            var op = Peek();
            _current++;
            Enter();
            try { return new UnaryExpr(op.Value, ParseUnarySign(), op.Position); }
            finally { _depth--; }
        }
        return ParseCallMember();
    }

    private Expr ParseCallMember()
    {
        var expr = ParseMember(ParsePrimary());
        while (Is(TokenType.OpenParen))
        {
            int position = Pos;
            expr = ParseMember(new CallExpr(expr, ParseArgs(parameters: false), position));
        }
        return expr;
    }

    private Expr ParseMember(Expr obj)
    {
        while (Is(TokenType.Dot) || Is(TokenType.OpenSquareBracket))
        {
            var op = Peek();
            _current++;
            if (op.Type == TokenType.OpenSquareBracket)
            {
                var property = ParseSubscript(op.Position);
                Expect(TokenType.CloseSquareBracket, "']'");
                obj = new MemberExpr(obj, property, true, op.Position);
            }
            else
            {
                var property = ParsePrimary();
                if (property is not (Identifier or IntegerLiteral)) throw Error("Expected identifier or integer after '.'");
                obj = new MemberExpr(obj, property, false, op.Position);
            }
        }
        return obj;
    }

    private Expr ParseSubscript(int position)
    {
        var parts = new List<Expr?>();
        bool isSlice = false;
        while (!Is(TokenType.CloseSquareBracket))
        {
            if (_current >= _tokens.Count) throw Error("Expected ']'");
            if (Is(TokenType.Colon))
            {
                parts.Add(null);
                _current++;
                isSlice = true;
            }
            else
            {
                parts.Add(ParseExpression());
                if (Is(TokenType.Colon)) { _current++; isSlice = true; }
            }
        }
        if (parts.Count == 0) throw Error("Expected an index or slice");
        if (!isSlice) return parts[0]!;
        if (parts.Count > 3) throw Error("A slice takes at most 3 parts");
        return new SliceExpr(parts.ElementAtOrDefault(0), parts.ElementAtOrDefault(1), parts.ElementAtOrDefault(2), position);
    }

    private List<Expr> ParseArgs(bool parameters)
    {
        Expect(TokenType.OpenParen, "'('");
        var args = new List<Expr>();
        bool sawKeyword = false;
        while (!Is(TokenType.CloseParen))
        {
            if (_current >= _tokens.Count) throw Error("Expected ')'");
            int position = Pos;
            Expr arg = ParseExpression();
            if (Is(TokenType.Equals))
            {
                _current++;
                if (arg is not Identifier id) throw Error("Expected identifier before '='");
                arg = new KeywordArg(id.Name, ParseExpression(), position);
                sawKeyword = true;
            }
            else if (sawKeyword)
            {
                throw Error(parameters ? "Non-default argument follows default argument" : "Positional argument follows keyword argument");
            }
            if (parameters && arg is not (Identifier or KeywordArg)) throw Error("Expected identifier for parameter declaration");
            args.Add(arg);
            if (Is(TokenType.Comma)) _current++;
        }
        _current++;
        return args;
    }

    private Expr ParsePrimary()
    {
        var token = Peek();
        _current++;
        switch (token.Type)
        {
            case TokenType.NumericLiteral:
                return token.Value.Contains('.')
                    ? new FloatLiteral(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Position)
                    : long.TryParse(token.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                        ? new IntegerLiteral(l, token.Position)
                        : new FloatLiteral(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Position);
            case TokenType.StringLiteral:
                {
                    // Adjacent string literals concatenate, as in Python.
                    string value = token.Value;
                    while (Is(TokenType.StringLiteral)) value += _tokens[_current++].Value;
                    return new StringLiteral(value, token.Position);
                }
            case TokenType.Identifier:
                return new Identifier(token.Value, token.Position);
            case TokenType.OpenParen:
                {
                    var expr = ParseExpressionSequence();
                    Expect(TokenType.CloseParen, "')'");
                    return expr;
                }
            case TokenType.OpenSquareBracket:
                {
                    var items = new List<Expr>();
                    while (!Is(TokenType.CloseSquareBracket))
                    {
                        if (_current >= _tokens.Count) throw Error("Expected ']'");
                        items.Add(ParseExpression());
                        if (Is(TokenType.Comma)) _current++;
                    }
                    _current++;
                    return new ArrayLiteral(items, token.Position);
                }
            case TokenType.OpenCurlyBracket:
                {
                    var entries = new List<(Expr, Expr)>();
                    while (!Is(TokenType.CloseCurlyBracket))
                    {
                        if (_current >= _tokens.Count) throw Error("Expected '}'");
                        var key = ParseExpression();
                        Expect(TokenType.Colon, "':' in dict literal");
                        entries.Add((key, ParseExpression()));
                        if (Is(TokenType.Comma)) _current++;
                    }
                    _current++;
                    return new ObjectLiteral(entries, token.Position);
                }
            default:
                _current--;
                throw Error($"Unexpected '{token.Value}'");
        }
    }
}
