using System.Text;
using InferServe.ChatTemplates.Lexing;
using InferServe.ChatTemplates.Parsing;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>
/// Tree-walking evaluator. One instance per render: it carries the safety budgets
/// (loop iterations, call depth, string sizes) so a template cannot hang or exhaust the server.
/// </summary>
internal sealed class Interpreter
{
    private readonly SourceText _source;

    public Interpreter(SourceText source, ChatTemplateOptions options)
    {
        _source = source;
        Options = options;
        Budget = new RenderBudget(options);
    }

    public ChatTemplateOptions Options { get; }

    /// <summary>The sandbox limits of this render.</summary>
    public RenderBudget Budget { get; }

    private sealed class BreakSignal : Exception;
    private sealed class ContinueSignal : Exception;

    // ---- errors and budgets ----
    public ChatTemplateException Error(Node? node, string message, ChatTemplateErrorKind kind = ChatTemplateErrorKind.Runtime)
    {
        if (node is null) return new ChatTemplateException(kind, message);
        var (line, column) = _source.LineColumn(node.Position);
        return new ChatTemplateException(kind, message, line, column);
    }

    public void CountIterations(long n = 1) => Budget.CountIterations(n);

    /// <summary>Every string the template builds goes through here, so doubling tricks are bounded.</summary>
    public StringValue Str(string s)
    {
        Budget.CheckLength(s.Length);
        return new StringValue(s);
    }

    /// <summary>{{ value }} text: lists and dicts print as JSON, bounded by the output limit.</summary>
    public string Text(Value v) => v is ArrayValue or ObjectValue or NamespaceValue ? Json.Serialize(v, JsonOptions.Display, Budget) : v.ToString();

    private void Append(StringBuilder sb, string s)
    {
        Budget.CheckLength(sb.Length + (long)s.Length);
        sb.Append(s);
    }

    // ---- statements ----
    public string Run(IReadOnlyList<Node> body, Scope scope)
    {
        var sb = new StringBuilder();
        try
        {
            ExecBlock(body, scope, sb);
        }
        catch (BreakSignal) { throw new ChatTemplateException("'break' outside of a loop"); }
        catch (ContinueSignal) { throw new ChatTemplateException("'continue' outside of a loop"); }
        catch (InsufficientExecutionStackException)
        {
            throw new ChatTemplateException(ChatTemplateErrorKind.LimitExceeded, "Template recursion too deep");
        }
        return sb.ToString();
    }

    public void ExecBlock(IReadOnlyList<Node> body, Scope scope, StringBuilder sb)
    {
        foreach (var node in body) Exec(node, scope, sb);
    }

    private void Exec(Node node, Scope scope, StringBuilder sb)
    {
        Budget.CheckTime();
        switch (node)
        {
            case TextNode t: Append(sb, t.Value); break;
            case CommentNode: break;
            case OutputNode o: Append(sb, Text(Eval(o.Expression, scope))); break;
            case IfNode i: ExecBlock(Eval(i.Test, scope).IsTruthy ? i.Body : i.Alternate, scope, sb); break;
            case ForNode f: ExecFor(f, scope, sb); break;
            case SetNode s: ExecSet(s, scope); break;
            case MacroNode m: scope.Set(m.Name, MakeMacro(m)); break;
            case BreakNode: throw new BreakSignal();
            case ContinueNode: throw new ContinueSignal();
            case Expr e: Append(sb, Text(Eval(e, scope))); break;
            default: throw Error(node, $"Unknown node {node.GetType().Name}");
        }
    }

    private void ExecSet(SetNode node, Scope scope)
    {
        Value rhs;
        if (node.Value is not null)
        {
            rhs = Eval(node.Value, scope);
        }
        else
        {
            var body = new StringBuilder();
            ExecBlock(node.Body, scope, body);
            rhs = new StringValue(body.ToString());
        }
        switch (node.Target)
        {
            case Identifier id:
                scope.Set(id.Name, rhs);
                break;
            case TupleLiteral tuple:
                if (rhs is not ArrayValue arr) throw Error(node, $"Cannot unpack non-iterable {rhs.TypeName} in set");
                if (arr.Items.Count != tuple.Items.Count)
                    throw Error(node, $"Too {(tuple.Items.Count > arr.Items.Count ? "few" : "many")} items to unpack in set");
                for (int i = 0; i < tuple.Items.Count; i++)
                {
                    if (tuple.Items[i] is not Identifier target) throw Error(node, "Cannot unpack to a non-identifier");
                    scope.Set(target.Name, arr.Items[i]);
                }
                break;
            case MemberExpr member:
                if (Eval(member.Object, scope) is not NamespaceValue ns)
                    throw Error(node, "Cannot assign attribute on non-namespace object");
                if (member.Property is not Identifier prop) throw Error(node, "Cannot assign to a non-identifier attribute");
                ns.Entries[prop.Name] = rhs;
                break;
            default:
                throw Error(node, "Invalid assignment target");
        }
    }

    private void ExecFor(ForNode node, Scope scope, StringBuilder sb)
    {
        var loopScope = new Scope(scope);
        var iterable = Eval(node.Iterable, loopScope);
        List<Value> source = iterable switch
        {
            ArrayValue a => a.Items,
            ObjectValue o => o.Entries.Keys.Select(k => (Value)new StringValue(k)).ToList(),
            StringValue s => s.Value.Select(c => (Value)new StringValue(c.ToString())).ToList(),
            UndefinedValue => [], // Jinja's default Undefined iterates as empty
            _ => throw Error(node, $"Expected iterable or object type in for loop: got {iterable.TypeName}"),
        };

        var items = new List<Value>();
        foreach (var item in source)
        {
            CountIterations();
            if (node.Filter is not null)
            {
                var testScope = new Scope(loopScope);
                BindLoopVar(node, testScope, item);
                if (!Eval(node.Filter, testScope).IsTruthy) continue;
            }
            items.Add(item);
        }

        bool iterated = false;
        for (int i = 0; i < items.Count; i++)
        {
            CountIterations();
            var loop = new OrderedDictionary<string, Value>(StringComparer.Ordinal)
            {
                ["index"] = new IntValue(i + 1),
                ["index0"] = new IntValue(i),
                ["revindex"] = new IntValue(items.Count - i),
                ["revindex0"] = new IntValue(items.Count - i - 1),
                ["first"] = BoolValue.Of(i == 0),
                ["last"] = BoolValue.Of(i == items.Count - 1),
                ["length"] = new IntValue(items.Count),
                ["previtem"] = i > 0 ? items[i - 1] : UndefinedValue.Instance,
                ["nextitem"] = i < items.Count - 1 ? items[i + 1] : UndefinedValue.Instance,
            };
            loopScope.Set("loop", new ObjectValue(loop));
            BindLoopVar(node, loopScope, items[i]);
            // Like the reference, an iteration's output is kept only if the body completes (break/continue drop it).
            var body = new StringBuilder();
            try
            {
                ExecBlock(node.Body, loopScope, body);
            }
            catch (ContinueSignal) { continue; }
            catch (BreakSignal) { break; }
            Append(sb, body.ToString());
            iterated = true;
        }
        if (!iterated) ExecBlock(node.Else, loopScope, sb);
    }

    private void BindLoopVar(ForNode node, Scope scope, Value item)
    {
        switch (node.LoopVar)
        {
            case Identifier id:
                scope.Set(id.Name, item);
                break;
            case TupleLiteral tuple:
                if (item is not ArrayValue arr) throw Error(node, $"Cannot unpack non-iterable type: {item.TypeName}");
                if (arr.Items.Count != tuple.Items.Count)
                    throw Error(node, $"Too {(tuple.Items.Count > arr.Items.Count ? "few" : "many")} items to unpack");
                for (int i = 0; i < tuple.Items.Count; i++)
                {
                    if (tuple.Items[i] is not Identifier target) throw Error(node, "Cannot unpack to a non-identifier");
                    scope.Set(target.Name, arr.Items[i]);
                }
                break;
        }
    }

    private FunctionValue MakeMacro(MacroNode node) => new(node.Name, (args, interp, caller) =>
    {
        Budget.EnterCall(message => Error(node, message, ChatTemplateErrorKind.LimitExceeded));
        try
        {
            var scope = new Scope(caller);
            var remaining = new OrderedDictionary<string, Value>(args.Keywords, StringComparer.Ordinal);
            for (int i = 0; i < node.Parameters.Count; i++)
            {
                var (name, defaultExpr) = node.Parameters[i] switch
                {
                    Identifier id => (id.Name, (Expr?)null),
                    KeywordArg kw => (kw.Name, kw.Value),
                    _ => throw Error(node, "Invalid macro parameter"),
                };
                Value? value = i < args.Positional.Count ? args.Positional[i] : null;
                if (value is null && remaining.Remove(name, out var kwValue)) value = kwValue;
                value ??= defaultExpr is not null ? Eval(defaultExpr, scope) : UndefinedValue.Instance;
                scope.Set(name, value);
            }
            if (args.Positional.Count > node.Parameters.Count)
                throw Error(node, $"macro '{node.Name}' takes not more than {node.Parameters.Count} argument(s)");
            if (remaining.Count > 0)
                throw Error(node, $"macro '{node.Name}' takes no keyword argument '{remaining.GetAt(0).Key}'");
            var sb = new StringBuilder();
            ExecBlock(node.Body, scope, sb);
            return Str(sb.ToString());
        }
        finally { Budget.ExitCall(); }
    });

    // ---- expressions ----
    public Value Eval(Expr expr, Scope scope)
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (expr)
        {
            case IntegerLiteral i: return new IntValue(i.Value);
            case FloatLiteral f: return new FloatValue(f.Value);
            case StringLiteral s: return new StringValue(s.Value);
            case ArrayLiteral a: return new ArrayValue(a.Items.Select(x => Eval(x, scope)).ToList());
            case TupleLiteral t: return new ArrayValue(t.Items.Select(x => Eval(x, scope)).ToList(), isTuple: true);
            case ObjectLiteral o:
                {
                    var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                    foreach (var (k, v) in o.Entries)
                    {
                        if (Eval(k, scope) is not StringValue key) throw Error(k, "Dict keys must be strings");
                        entries[key.Value] = Eval(v, scope);
                    }
                    return new ObjectValue(entries);
                }
            case Identifier id: return scope.Lookup(id.Name);
            case MemberExpr m: return EvalMember(m, scope);
            case CallExpr c: return EvalCall(c, scope);
            case UnaryExpr u: return EvalUnary(u, scope);
            case BinaryExpr b: return Operators.Binary(this, b, scope);
            case FilterExpr f: return Filters.Apply(this, f, Eval(f.Operand, scope), scope);
            case TestExpr t: return EvalTest(t, scope);
            case TernaryExpr t: return Eval(t.Condition, scope).IsTruthy ? Eval(t.IfTrue, scope) : Eval(t.IfFalse, scope);
            case SelectExpr s: return Eval(s.Condition, scope).IsTruthy ? Eval(s.Value, scope) : UndefinedValue.Instance;
            case KeywordArg k: throw Error(k, "Keyword argument outside of a call");
            case SliceExpr s: throw Error(s, "Slice outside of a subscript");
            default: throw Error(expr, $"Unknown expression {expr.GetType().Name}");
        }
    }

    public CallArgs EvalArgs(IReadOnlyList<Expr> args, Scope scope)
    {
        var positional = new List<Value>();
        var keywords = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        foreach (var arg in args)
        {
            if (arg is KeywordArg kw)
            {
                if (!keywords.TryAdd(kw.Name, Eval(kw.Value, scope)))
                    throw Error(kw, $"Got multiple values for keyword argument '{kw.Name}'");
            }
            else
            {
                positional.Add(Eval(arg, scope));
            }
        }
        return new CallArgs(positional, keywords);
    }

    private Value EvalCall(CallExpr call, Scope scope)
    {
        var args = EvalArgs(call.Args, scope);
        var fn = Eval(call.Callee, scope);
        if (fn is not FunctionValue f)
        {
            string name = call.Callee is Identifier id ? id.Name : call.Callee is MemberExpr { Property: Identifier p } ? p.Name : "expression";
            throw Error(call, $"'{name}' is not callable (got {fn.TypeName})");
        }
        try
        {
            return f.Body(args, this, scope);
        }
        catch (ChatTemplateException) { throw; }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            throw Error(call, ex.Message);
        }
    }

    private Value EvalUnary(UnaryExpr u, Scope scope)
    {
        var v = Eval(u.Operand, scope);
        if (u.Operator == "not") return BoolValue.Of(!v.IsTruthy);
        int sign = u.Operator == "-" ? -1 : 1;
        return v switch
        {
            IntValue i => new IntValue(sign * i.Value),
            FloatValue f => new FloatValue(sign * f.Value),
            BoolValue b => new IntValue(sign * (b.Value ? 1 : 0)),
            _ => throw Error(u, $"Unknown operator \"{u.Operator}\" for {v.TypeName}"),
        };
    }

    private Value EvalMember(MemberExpr m, Scope scope)
    {
        var obj = Eval(m.Object, scope);
        if (m.Computed && m.Property is SliceExpr slice) return EvalSlice(obj, slice, scope);
        Value property = m.Computed ? Eval(m.Property, scope)
            : m.Property is IntegerLiteral il ? new IntValue(il.Value)
            : new StringValue(((Identifier)m.Property).Name);
        return Subscripts.Member(this, m, obj, property);
    }

    private Value EvalSlice(Value obj, SliceExpr slice, Scope scope)
    {
        long? Part(Expr? e)
        {
            if (e is null) return null;
            return Eval(e, scope) switch
            {
                IntValue i => i.Value,
                UndefinedValue => null,
                var v => throw Error(slice, $"Slice indices must be integers, got {v.TypeName}"),
            };
        }
        long? start = Part(slice.Start), stop = Part(slice.Stop), step = Part(slice.Step);
        if (step == 0) throw Error(slice, "Slice step cannot be zero");
        return Subscripts.Slice(this, slice, obj, start, stop, step ?? 1);
    }

    private Value EvalTest(TestExpr t, Scope scope)
    {
        var operand = Eval(t.Operand, scope);
        var args = EvalArgs(t.Args, scope);
        bool result = Tests.Run(this, t, operand, args.Positional);
        return BoolValue.Of(t.Negate ? !result : result);
    }
}
