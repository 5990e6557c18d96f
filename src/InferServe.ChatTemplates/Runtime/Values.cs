namespace InferServe.ChatTemplates.Runtime;

/// <summary>
/// Runtime values. Semantics (truthiness, string form, equality) follow @huggingface/jinja,
/// whose output the chat templates are checked against.
/// </summary>
internal abstract class Value
{
    public abstract string TypeName { get; }

    public virtual bool IsTruthy => true;

    /// <summary>The text written by {{ value }}.</summary>
    public abstract override string ToString();
}

/// <summary>A missing variable or attribute: falsy, renders as nothing, fails arithmetic.</summary>
internal sealed class UndefinedValue : Value
{
    public static readonly UndefinedValue Instance = new();
    public override string TypeName => "undefined";
    public override bool IsTruthy => false;
    public override string ToString() => "";
}

internal sealed class NullValue : Value
{
    public static readonly NullValue Instance = new();
    public override string TypeName => "none";
    public override bool IsTruthy => false;
    public override string ToString() => "";
}

internal sealed class BoolValue : Value
{
    public static readonly BoolValue True = new(true);
    public static readonly BoolValue False = new(false);
    private BoolValue(bool value) => Value = value;
    public bool Value { get; }
    public static BoolValue Of(bool value) => value ? True : False;
    public override string TypeName => "boolean";
    public override bool IsTruthy => Value;
    // The reference renders JavaScript booleans.
    public override string ToString() => Value ? "true" : "false";
}

internal sealed class IntValue(long value) : Value
{
    public long Value { get; } = value;
    public override string TypeName => "integer";
    public override bool IsTruthy => Value != 0;
    public override string ToString() => JsNumber.Format(Value);
}

internal sealed class FloatValue(double value) : Value
{
    public double Value { get; } = value;
    public override string TypeName => "float";
    public override bool IsTruthy => Value != 0 && !double.IsNaN(Value);

    // Python-like: integral floats keep a ".0".
    public override string ToString()
    {
        if (Value == 0 && double.IsNegative(Value)) return "-0.0";
        return Value % 1 == 0 && Math.Abs(Value) < 1e21 ? JsNumber.Format(Value) + ".0" : JsNumber.Format(Value);
    }
}

internal sealed class StringValue(string value) : Value
{
    public static readonly StringValue Empty = new("");
    public string Value { get; } = value;
    public override string TypeName => "string";
    public override bool IsTruthy => Value.Length > 0;
    public override string ToString() => Value;
}

internal sealed class ArrayValue(List<Value> items, bool isTuple = false) : Value
{
    public List<Value> Items { get; } = items;
    public bool IsTuple { get; } = isTuple;
    public override string TypeName => IsTuple ? "tuple" : "list";
    public override bool IsTruthy => Items.Count > 0;
    public override string ToString() => Json.Serialize(this, JsonOptions.Display);
}

/// <summary>A dict; insertion-ordered like Python dicts and JavaScript Maps.</summary>
internal sealed class ObjectValue(OrderedDictionary<string, Value> entries) : Value
{
    public ObjectValue() : this(new OrderedDictionary<string, Value>(StringComparer.Ordinal)) { }
    public OrderedDictionary<string, Value> Entries { get; } = entries;
    public override string TypeName => "dict";
    public override bool IsTruthy => Entries.Count > 0;
    public override string ToString() => Json.Serialize(this, JsonOptions.Display);
}

/// <summary>namespace(): the one mutable object templates can assign attributes on.</summary>
internal sealed class NamespaceValue(OrderedDictionary<string, Value> entries) : Value
{
    public OrderedDictionary<string, Value> Entries { get; } = entries;
    public override string TypeName => "namespace";
    public override string ToString() => Json.Serialize(this, JsonOptions.Display);
}

internal delegate Value NativeFunction(CallArgs args, Interpreter interpreter, Scope callerScope);

internal sealed class FunctionValue(string name, NativeFunction body) : Value
{
    public string Name { get; } = name;
    public NativeFunction Body { get; } = body;
    public override string TypeName => "function";
    public override string ToString() => $"<function {Name}>";
}

/// <summary>Evaluated call arguments: positional values and keyword values in call order.</summary>
internal sealed class CallArgs(List<Value> positional, OrderedDictionary<string, Value> keywords)
{
    public static readonly CallArgs Empty = new([], new OrderedDictionary<string, Value>());
    public List<Value> Positional { get; } = positional;
    public OrderedDictionary<string, Value> Keywords { get; } = keywords;

    /// <summary>Argument by position, else by keyword, else null.</summary>
    public Value? Get(int index, string name) =>
        index < Positional.Count ? Positional[index] : Keywords.GetValueOrDefault(name);
}
