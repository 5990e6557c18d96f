namespace InferServe.ChatTemplates.Parsing;

/// <summary>Syntax tree. Position is an index into the original source, used for runtime error locations.</summary>
internal abstract record Node(int Position);

// ---- statements ----
internal sealed record TextNode(string Value, int Position) : Node(Position);
internal sealed record CommentNode(int Position) : Node(Position);
internal sealed record OutputNode(Expr Expression, int Position) : Node(Position);
internal sealed record IfNode(Expr Test, IReadOnlyList<Node> Body, IReadOnlyList<Node> Alternate, int Position) : Node(Position);
internal sealed record ForNode(Expr LoopVar, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else, int Position) : Node(Position);
internal sealed record SetNode(Expr Target, Expr? Value, IReadOnlyList<Node> Body, int Position) : Node(Position);
internal sealed record MacroNode(string Name, IReadOnlyList<Expr> Parameters, IReadOnlyList<Node> Body, int Position) : Node(Position);
internal sealed record BreakNode(int Position) : Node(Position);
internal sealed record ContinueNode(int Position) : Node(Position);

// ---- expressions ----
internal abstract record Expr(int Position) : Node(Position);
internal sealed record IntegerLiteral(long Value, int Position) : Expr(Position);
internal sealed record FloatLiteral(double Value, int Position) : Expr(Position);
internal sealed record StringLiteral(string Value, int Position) : Expr(Position);
internal sealed record ArrayLiteral(IReadOnlyList<Expr> Items, int Position) : Expr(Position);
internal sealed record TupleLiteral(IReadOnlyList<Expr> Items, int Position) : Expr(Position);
internal sealed record ObjectLiteral(IReadOnlyList<(Expr Key, Expr Value)> Entries, int Position) : Expr(Position);
internal sealed record Identifier(string Name, int Position) : Expr(Position);
/// <summary>a.b (Computed=false, Property is Identifier/IntegerLiteral) or a[b] (Computed=true).</summary>
internal sealed record MemberExpr(Expr Object, Expr Property, bool Computed, int Position) : Expr(Position);
internal sealed record SliceExpr(Expr? Start, Expr? Stop, Expr? Step, int Position) : Expr(Position);
internal sealed record CallExpr(Expr Callee, IReadOnlyList<Expr> Args, int Position) : Expr(Position);
internal sealed record KeywordArg(string Name, Expr Value, int Position) : Expr(Position);
internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Position) : Expr(Position);
internal sealed record UnaryExpr(string Operator, Expr Operand, int Position) : Expr(Position);
/// <summary>operand | name or operand | name(args).</summary>
internal sealed record FilterExpr(Expr Operand, string Name, IReadOnlyList<Expr>? Args, int Position) : Expr(Position);
internal sealed record TestExpr(Expr Operand, bool Negate, string Name, IReadOnlyList<Expr> Args, int Position) : Expr(Position);
internal sealed record TernaryExpr(Expr Condition, Expr IfTrue, Expr IfFalse, int Position) : Expr(Position);
/// <summary>"a if cond" without else: undefined when cond is false.</summary>
internal sealed record SelectExpr(Expr Value, Expr Condition, int Position) : Expr(Position);
