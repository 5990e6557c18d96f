using System.Globalization;
using InferServe.ChatTemplates.Lexing;
using InferServe.ChatTemplates.Parsing;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>The filters chat templates use, with the reference's output formats.</summary>
internal static class Filters
{
    public static Value Apply(Interpreter interp, FilterExpr node, Value operand, Scope scope)
    {
        var args = node.Args is null ? CallArgs.Empty : interp.EvalArgs(node.Args, scope);
        try
        {
            return ApplyCore(interp, node, operand, args, scope);
        }
        catch (ChatTemplateException) { throw; }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            throw interp.Error(node, $"{node.Name}: {ex.Message}");
        }
    }

    private static Value ApplyCore(Interpreter interp, FilterExpr node, Value operand, CallArgs args, Scope scope)
    {
        string name = node.Name;
        ChatTemplateException Unsupported() => interp.Error(node, $"Cannot apply filter \"{name}\" to type {operand.TypeName}");

        switch (name)
        {
            case "safe":
                return operand;
            case "tojson":
                return interp.Str(Json.Serialize(operand, JsonOptionsFrom(args), interp.Budget));
            case "default" or "d":
                {
                    var fallback = args.Get(0, "default_value") ?? StringValue.Empty;
                    bool boolean = args.Get(1, "boolean") is { IsTruthy: true };
                    return operand is UndefinedValue || (boolean && !operand.IsTruthy) ? fallback : operand;
                }
            case "length" or "count":
                return operand switch
                {
                    ArrayValue a => new IntValue(a.Items.Count),
                    StringValue s => new IntValue(s.Value.Length),
                    ObjectValue o => new IntValue(o.Entries.Count),
                    UndefinedValue => new IntValue(0),
                    _ => throw Unsupported(),
                };
            case "string":
                return operand switch
                {
                    StringValue => operand,
                    UndefinedValue => StringValue.Empty,
                    NullValue => new StringValue("None"),
                    _ => interp.Str(interp.Text(operand)),
                };
            case "int":
                {
                    var fallback = args.Get(0, "default") ?? new IntValue(0);
                    return operand switch
                    {
                        IntValue => operand,
                        FloatValue f => new IntValue((long)Math.Floor(f.Value)),
                        BoolValue b => new IntValue(b.Value ? 1 : 0),
                        StringValue s => JsParseInt(s.Value) is { } l ? new IntValue(l) : fallback,
                        _ => throw Unsupported(),
                    };
                }
            case "float":
                {
                    var fallback = args.Get(0, "default") ?? new FloatValue(0);
                    return operand switch
                    {
                        IntValue i => new FloatValue(i.Value),
                        FloatValue => operand,
                        BoolValue b => new FloatValue(b.Value ? 1 : 0),
                        StringValue s => JsParseFloat(s.Value) is { } d ? new FloatValue(d) : fallback,
                        _ => throw Unsupported(),
                    };
                }
            case "abs":
                return operand switch
                {
                    IntValue i => new IntValue(Math.Abs(i.Value)),
                    FloatValue f => new FloatValue(Math.Abs(f.Value)),
                    _ => throw Unsupported(),
                };
            case "round":
                {
                    double v = operand switch { IntValue i => i.Value, FloatValue f => f.Value, _ => throw Unsupported() };
                    int precision = args.Get(0, "precision") is IntValue p ? (int)Math.Clamp(p.Value, 0, 15) : 0;
                    string method = args.Get(1, "method") is StringValue m ? m.Value : "common";
                    double scale = Math.Pow(10, precision);
                    double r = method switch
                    {
                        "common" => Math.Round(v * scale, MidpointRounding.AwayFromZero) / scale,
                        "floor" => Math.Floor(v * scale) / scale,
                        "ceil" => Math.Ceiling(v * scale) / scale,
                        _ => throw interp.Error(node, "round method must be 'common', 'ceil' or 'floor'"),
                    };
                    return new FloatValue(r);
                }
            case "bool":
                return BoolValue.Of(operand.IsTruthy);
        }

        switch (operand)
        {
            case StringValue s:
                return name switch
                {
                    "upper" => new StringValue(s.Value.ToUpperInvariant()),
                    "lower" => new StringValue(s.Value.ToLowerInvariant()),
                    "title" => new StringValue(Methods.Title(s.Value)),
                    "capitalize" => new StringValue(Methods.Capitalize(s.Value)),
                    "trim" => new StringValue(Methods.Strip(s.Value, (args.Get(0, "chars") as StringValue)?.Value, true, true)),
                    "indent" => interp.Str(Indent(interp, s.Value, args)),
                    "replace" => interp.Str(Methods.Replace(s.Value, args, interp.Budget)),
                    "join" => interp.Str(Operators.BoundedJoin(Separator(args), s.Value.Select(c => c.ToString()), interp.Budget.MaxOutputChars)),
                    "list" => new ArrayValue(s.Value.Select(c => (Value)new StringValue(c.ToString())).ToList()),
                    "first" => s.Value.Length > 0 ? new StringValue(s.Value[0].ToString()) : UndefinedValue.Instance,
                    "last" => s.Value.Length > 0 ? new StringValue(s.Value[^1].ToString()) : UndefinedValue.Instance,
                    "reverse" => new StringValue(new string(s.Value.Reverse().ToArray())),
                    _ => throw Unknown(interp, node, operand),
                };
            case ArrayValue a:
                return name switch
                {
                    "list" => a,
                    "first" => a.Items.Count > 0 ? a.Items[0] : UndefinedValue.Instance,
                    "last" => a.Items.Count > 0 ? a.Items[^1] : UndefinedValue.Instance,
                    "reverse" => new ArrayValue(Enumerable.Reverse(a.Items).ToList()),
                    "join" => Join(interp, a, args),
                    "unique" => Unique(interp, a),
                    "sort" => Sort(interp, node, a, args),
                    "selectattr" or "rejectattr" => SelectAttr(interp, node, a, args, select: name == "selectattr"),
                    "map" => Map(interp, node, a, args),
                    "items" => throw Unsupported(),
                    _ => throw Unknown(interp, node, operand),
                };
            case ObjectValue o:
                return name switch
                {
                    "items" => Methods.Items(o),
                    "list" => new ArrayValue(o.Entries.Keys.Select(k => (Value)new StringValue(k)).ToList()),
                    "dictsort" => new ArrayValue(Methods.Items(o).Items
                        .OrderBy(x => ((StringValue)((ArrayValue)x).Items[0]).Value.ToLowerInvariant(), StringComparer.Ordinal).ToList()),
                    _ => Methods.ForObject(o, name) is FunctionValue f ? f.Body(args, interp, scope) : throw Unknown(interp, node, operand),
                };
            default:
                throw Unknown(interp, node, operand);
        }
    }

    private static ChatTemplateException Unknown(Interpreter interp, FilterExpr node, Value operand) =>
        interp.Error(node, $"Unknown filter \"{node.Name}\" for type {operand.TypeName}");

    private static JsonOptions JsonOptionsFrom(CallArgs args)
    {
        int? indent = args.Keywords.GetValueOrDefault("indent") switch
        {
            null or NullValue => null,
            IntValue i => (int)Math.Clamp(i.Value, 0, 64),
            _ => throw new ArgumentException("If set, indent must be a number"),
        };
        bool ensureAscii = args.Keywords.GetValueOrDefault("ensure_ascii") is { IsTruthy: true };
        bool sortKeys = args.Keywords.GetValueOrDefault("sort_keys") is { IsTruthy: true };
        (string, string)? separators = null;
        if (args.Keywords.GetValueOrDefault("separators") is ArrayValue { Items: [StringValue item, StringValue key] })
            separators = (item.Value, key.Value);
        return new JsonOptions(indent, ensureAscii, sortKeys, separators);
    }

    private static string Separator(CallArgs args) => args.Get(0, "d") switch
    {
        null => args.Keywords.GetValueOrDefault("separator") is StringValue ks ? ks.Value : "",
        StringValue s => s.Value,
        _ => throw new ArgumentException("separator must be a string"),
    };

    /// <summary>Joins the raw values as JavaScript's Array.join does (none/undefined become empty).</summary>
    private static Value Join(Interpreter interp, ArrayValue a, CallArgs args)
    {
        string sep = Separator(args);
        var attr = args.Keywords.GetValueOrDefault("attribute") as StringValue;
        var parts = a.Items.Select(x =>
        {
            if (attr is not null) x = AttributePath(x, attr.Value);
            return x is NullValue or UndefinedValue ? "" : Operators.RawString(x);
        });
        return interp.Str(Operators.BoundedJoin(sep, parts, interp.Budget.MaxOutputChars));
    }

    private static string Indent(Interpreter interp, string v, CallArgs args)
    {
        int width = args.Get(0, "width") switch
        {
            null => 4,
            IntValue i => (int)Math.Clamp(i.Value, 0, 1024),
            StringValue => throw new ArgumentException("string indent is not supported"),
            _ => throw new ArgumentException("width must be a number"),
        };
        bool first = args.Get(1, "first") is { IsTruthy: true };
        bool blank = args.Get(2, "blank") is { IsTruthy: true };
        string pad = new(' ', width);
        var lines = v.Split('\n');
        interp.Budget.CheckLength(v.Length + (long)lines.Length * width);
        for (int i = 0; i < lines.Length; i++)
        {
            if ((i == 0 && !first) || (lines[i].Length == 0 && !blank)) continue;
            lines[i] = pad + lines[i];
        }
        return string.Join('\n', lines);
    }

    private static Value Unique(Interpreter interp, ArrayValue a)
    {
        var output = new List<Value>();
        foreach (var item in a.Items)
        {
            interp.Budget.CheckTime(); // quadratic: a long list must not outlive the time limit
            if (!output.Any(x => Operators.StrictEquals(x, item))) output.Add(item);
        }
        return new ArrayValue(output);
    }

    private static Value Sort(Interpreter interp, FilterExpr node, ArrayValue a, CallArgs args)
    {
        bool reverse = args.Get(0, "reverse") is { IsTruthy: true };
        bool caseSensitive = args.Get(1, "case_sensitive") is { IsTruthy: true };
        string? attribute = args.Get(2, "attribute") switch
        {
            null or NullValue => null,
            StringValue s => s.Value,
            IntValue i => JsNumber.Format(i.Value),
            _ => throw new ArgumentException("attribute must be a string, integer, or none"),
        };
        Value Key(Value item) => attribute is null ? item : AttributePath(item, attribute);
        int Compare(Value x, Value y)
        {
            interp.Budget.Tick();
            int c = CompareValues(interp, node, Key(x), Key(y), caseSensitive);
            return reverse ? -c : c;
        }
        // OrderBy is stable, like JavaScript's Array.prototype.sort.
        return new ArrayValue(a.Items.OrderBy(x => x, Comparer<Value>.Create(Compare)).ToList());
    }

    private static int CompareValues(Interpreter interp, Node node, Value a, Value b, bool caseSensitive)
    {
        switch (a, b)
        {
            case (NullValue, NullValue) or (UndefinedValue, UndefinedValue): return 0;
            case (IntValue or FloatValue or BoolValue, IntValue or FloatValue or BoolValue):
                return Num(a).CompareTo(Num(b));
            case (StringValue x, StringValue y):
                return caseSensitive
                    ? string.CompareOrdinal(x.Value, y.Value)
                    : string.CompareOrdinal(x.Value.ToLowerInvariant(), y.Value.ToLowerInvariant());
            default:
                throw interp.Error(node, $"Cannot compare {a.TypeName} with {b.TypeName}");
        }
        static double Num(Value v) => v switch { IntValue i => i.Value, FloatValue f => f.Value, BoolValue bv => bv.Value ? 1 : 0, _ => 0 };
    }

    private static Value SelectAttr(Interpreter interp, FilterExpr node, ArrayValue a, CallArgs args, bool select)
    {
        if (args.Get(0, "attribute") is not StringValue attr) throw interp.Error(node, $"{node.Name} needs an attribute name");
        string? testName = (args.Positional.ElementAtOrDefault(1) as StringValue)?.Value;
        var testArgs = args.Positional.Skip(2).ToList();
        var output = new List<Value>();
        foreach (var item in a.Items)
        {
            var entries = item switch
            {
                ObjectValue o => o.Entries,
                NamespaceValue n => n.Entries,
                _ => throw interp.Error(node, $"`{node.Name}` can only be applied to a list of objects"),
            };
            // As in the reference: a missing attribute never passes the test.
            bool result = entries.TryGetValue(attr.Value, out var v)
                && (testName is null ? v.IsTruthy : Tests.RunNamed(interp, node, testName, v, testArgs));
            if (result == select) output.Add(item);
        }
        return new ArrayValue(output);
    }

    private static Value Map(Interpreter interp, FilterExpr node, ArrayValue a, CallArgs args)
    {
        if (args.Keywords.GetValueOrDefault("attribute") is StringValue attr)
        {
            var fallback = args.Keywords.GetValueOrDefault("default");
            return new ArrayValue(a.Items.Select(item =>
            {
                if (item is not (ObjectValue or NamespaceValue)) throw interp.Error(node, "items in map must be objects");
                var v = AttributePath(item, attr.Value);
                return v is UndefinedValue ? fallback ?? UndefinedValue.Instance : v;
            }).ToList());
        }
        if (args.Positional.FirstOrDefault() is StringValue filterName)
        {
            // map('upper') etc.: apply a no-argument filter to each item.
            var inner = new FilterExpr(node.Operand, filterName.Value, null, node.Position);
            return new ArrayValue(a.Items.Select(item => ApplyCore(interp, inner, item, CallArgs.Empty, new Scope(null))).ToList());
        }
        throw interp.Error(node, "map needs attribute= or a filter name");
    }

    /// <summary>Dotted attribute lookup ("function.name", "0") as selectattr/map/sort use it.</summary>
    public static Value AttributePath(Value item, string path)
    {
        var value = item;
        foreach (var part in path.Split('.'))
        {
            value = value switch
            {
                ObjectValue o => o.Entries.GetValueOrDefault(part) ?? UndefinedValue.Instance,
                NamespaceValue n => n.Entries.GetValueOrDefault(part) ?? UndefinedValue.Instance,
                ArrayValue arr when int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < arr.Items.Count => arr.Items[i],
                _ => UndefinedValue.Instance,
            };
            if (value is UndefinedValue) break;
        }
        return value;
    }

    /// <summary>JavaScript parseInt(s, 10): optional sign and leading digits after whitespace.</summary>
    private static long? JsParseInt(string s)
    {
        s = JsText.TrimStart(s);
        int i = 0;
        if (i < s.Length && s[i] is '+' or '-') i++;
        int digitsStart = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i == digitsStart) return null;
        return long.TryParse(s.AsSpan(0, i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : null;
    }

    /// <summary>JavaScript parseFloat: the longest numeric prefix.</summary>
    private static double? JsParseFloat(string s)
    {
        s = JsText.TrimStart(s);
        for (int len = Math.Min(s.Length, 64); len > 0; len--) // bounded: no quadratic scan of huge strings
        {
            if (double.TryParse(s.AsSpan(0, len), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
        }
        return null;
    }
}
