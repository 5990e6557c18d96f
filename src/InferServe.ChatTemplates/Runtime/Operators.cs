using System.Globalization;
using InferServe.ChatTemplates.Lexing;
using InferServe.ChatTemplates.Parsing;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>Binary operators with the reference's semantics (including JavaScript's loose == between values).</summary>
internal static class Operators
{
    public static Value Binary(Interpreter interp, BinaryExpr node, Scope scope)
    {
        var left = interp.Eval(node.Left, scope);
        switch (node.Operator)
        {
            case "and": return left.IsTruthy ? interp.Eval(node.Right, scope) : left;
            case "or": return left.IsTruthy ? left : interp.Eval(node.Right, scope);
        }
        var right = interp.Eval(node.Right, scope);
        string op = node.Operator;
        switch (op)
        {
            case "==": return BoolValue.Of(LooseEquals(left, right));
            case "!=": return BoolValue.Of(!LooseEquals(left, right));
        }

        if (left is UndefinedValue || right is UndefinedValue)
        {
            if (right is UndefinedValue && op is "in" or "not in") return BoolValue.Of(op == "not in");
            throw interp.Error(node, $"Cannot perform operation {op} on undefined values");
        }
        if (left is NullValue || right is NullValue) throw interp.Error(node, $"Cannot perform operation {op} on none values");

        if (op == "~") return interp.Str(RawString(left) + RawString(right));

        if (IsNumber(left, out double a, out bool aFloat) && IsNumber(right, out double b, out bool bFloat))
        {
            bool isFloat = aFloat || bFloat;
            long la = left is IntValue li ? li.Value : 0, lb = right is IntValue ri ? ri.Value : 0;
            switch (op)
            {
                case "+": return isFloat ? new FloatValue(a + b) : new IntValue(la + lb);
                case "-": return isFloat ? new FloatValue(a - b) : new IntValue(la - lb);
                case "*": return isFloat ? new FloatValue(a * b) : new IntValue(la * lb);
                case "/": return new FloatValue(a / b);
                case "//":
                    if (!isFloat && lb == 0) throw interp.Error(node, "integer division by zero");
                    return isFloat ? new FloatValue(Math.Floor(a / b)) : new IntValue((long)Math.Floor((double)la / lb));
                case "%":
                    if (!isFloat && lb == 0) throw interp.Error(node, "integer modulo by zero");
                    return isFloat ? new FloatValue(a % b) : new IntValue(la % lb);
                case "**":
                    if (a == 0 && b < 0) throw interp.Error(node, "0.0 cannot be raised to a negative power");
                    double p = Math.Pow(a, b);
                    if (!double.IsFinite(p)) throw interp.Error(node, "Exponentiation result is not a finite real number");
                    return isFloat || b < 0 ? new FloatValue(p) : new IntValue((long)p);
                case "<": return BoolValue.Of(a < b);
                case ">": return BoolValue.Of(a > b);
                case "<=": return BoolValue.Of(a <= b);
                case ">=": return BoolValue.Of(a >= b);
            }
        }

        if (left is ArrayValue la2 && right is ArrayValue ra && op == "+")
        {
            interp.CountIterations(la2.Items.Count + ra.Items.Count);
            return new ArrayValue([.. la2.Items, .. ra.Items]);
        }
        if (right is ArrayValue arr && op is "in" or "not in")
        {
            bool member = arr.Items.Any(x => StrictEquals(x, left));
            return BoolValue.Of(op == "in" ? member : !member);
        }
        if ((left is StringValue || right is StringValue) && op == "+") return interp.Str(RawString(left) + RawString(right));
        if (op == "*" && (left, right) is (StringValue, IntValue) or (IntValue, StringValue))
        {
            // Python/Jinja repetition; the reference has none. Sized before it is built, so 'x' * 10**9 fails fast.
            var (text, times) = left is StringValue ts ? (ts.Value, ((IntValue)right).Value) : (((StringValue)right).Value, ((IntValue)left).Value);
            if (times <= 0 || text.Length == 0) return StringValue.Empty;
            interp.Budget.CheckLength(times > int.MaxValue ? long.MaxValue : text.Length * times);
            return new StringValue(string.Create(text.Length * (int)times, text, static (span, t) =>
            {
                for (int i = 0; i < span.Length; i += t.Length) t.CopyTo(span[i..]);
            }));
        }
        if (left is StringValue ls && right is StringValue rs)
        {
            switch (op)
            {
                case "in": return BoolValue.Of(rs.Value.Contains(ls.Value, StringComparison.Ordinal));
                case "not in": return BoolValue.Of(!rs.Value.Contains(ls.Value, StringComparison.Ordinal));
                // Ordering of strings is a Jinja feature the reference lacks; ordinal like Python.
                case "<": return BoolValue.Of(string.CompareOrdinal(ls.Value, rs.Value) < 0);
                case ">": return BoolValue.Of(string.CompareOrdinal(ls.Value, rs.Value) > 0);
                case "<=": return BoolValue.Of(string.CompareOrdinal(ls.Value, rs.Value) <= 0);
                case ">=": return BoolValue.Of(string.CompareOrdinal(ls.Value, rs.Value) >= 0);
            }
        }
        if (left is StringValue key && right is ObjectValue obj && op is "in" or "not in")
        {
            bool has = obj.Entries.ContainsKey(key.Value);
            return BoolValue.Of(op == "in" ? has : !has);
        }
        throw interp.Error(node, $"Unknown operator \"{op}\" between {left.TypeName} and {right.TypeName}");
    }

    private static bool IsNumber(Value v, out double d, out bool isFloat)
    {
        switch (v)
        {
            case IntValue i: d = i.Value; isFloat = false; return true;
            case FloatValue f: d = f.Value; isFloat = true; return true;
            default: d = 0; isFloat = false; return false;
        }
    }

    /// <summary>JavaScript String(x.value): what the reference concatenates with + and ~.</summary>
    public static string RawString(Value v) => v switch
    {
        IntValue i => JsNumber.Format(i.Value),
        FloatValue f => JsNumber.Format(f.Value),
        BoolValue b => b.Value ? "true" : "false",
        StringValue s => s.Value,
        ArrayValue a => BoundedJoin(",", a.Items.Select(x => x.ToString()), ChatTemplateOptions.Default.MaxOutputChars),
        ObjectValue or NamespaceValue => "[object Map]",
        NullValue => "null",
        UndefinedValue => "undefined",
        _ => v.ToString(),
    };

    /// <summary>string.Join that stops at <paramref name="maxChars"/> instead of building a huge string first.</summary>
    public static string BoundedJoin(string separator, IEnumerable<string> parts, int maxChars)
    {
        var sb = new System.Text.StringBuilder();
        bool first = true;
        foreach (var part in parts)
        {
            if ((long)sb.Length + separator.Length + part.Length > maxChars)
                throw new ChatTemplateException(ChatTemplateErrorKind.LimitExceeded, $"Template output exceeded {maxChars} characters");
            if (!first) sb.Append(separator);
            sb.Append(part);
            first = false;
        }
        return sb.ToString();
    }

    /// <summary>JavaScript === between the wrapped values: primitives by value, containers by identity.</summary>
    public static bool StrictEquals(Value a, Value b) => (a, b) switch
    {
        (IntValue or FloatValue, IntValue or FloatValue) => ToDouble(a) == ToDouble(b),
        (StringValue x, StringValue y) => x.Value == y.Value,
        (BoolValue x, BoolValue y) => x.Value == y.Value,
        (NullValue, NullValue) or (UndefinedValue, UndefinedValue) => true,
        _ => ReferenceEquals(a, b),
    };

    /// <summary>JavaScript == between the wrapped values (null == undefined, 1 == true, "1" == 1).</summary>
    public static bool LooseEquals(Value a, Value b)
    {
        bool aNullish = a is NullValue or UndefinedValue, bNullish = b is NullValue or UndefinedValue;
        if (aNullish || bNullish) return aNullish && bNullish;
        if (a is BoolValue ab) return LooseEquals(new IntValue(ab.Value ? 1 : 0), b);
        if (b is BoolValue bb) return LooseEquals(a, new IntValue(bb.Value ? 1 : 0));
        return (a, b) switch
        {
            (IntValue or FloatValue, IntValue or FloatValue) => ToDouble(a) == ToDouble(b),
            (StringValue x, StringValue y) => x.Value == y.Value,
            (IntValue or FloatValue, StringValue s) => ToDouble(a) == JsToNumber(s.Value),
            (StringValue s, IntValue or FloatValue) => JsToNumber(s.Value) == ToDouble(b),
            _ => ReferenceEquals(a, b),
        };
    }

    private static double ToDouble(Value v) => v is IntValue i ? i.Value : ((FloatValue)v).Value;

    private static double JsToNumber(string s)
    {
        s = JsText.Trim(s);
        if (s.Length == 0) return 0;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
    }
}
