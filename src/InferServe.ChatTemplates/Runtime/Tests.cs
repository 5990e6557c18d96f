using InferServe.ChatTemplates.Parsing;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>Jinja tests ("x is defined", "x is not none", ...), with the reference's type rules.</summary>
internal static class Tests
{
    public static bool Run(Interpreter interp, TestExpr node, Value operand, List<Value> args) =>
        RunNamed(interp, node, node.Name, operand, args);

    public static bool RunNamed(Interpreter interp, Node node, string name, Value v, List<Value> args)
    {
        Value Arg() => args.Count > 0 ? args[0] : throw interp.Error(node, $"test '{name}' needs an argument");
        return name switch
        {
            "defined" => v is not UndefinedValue,
            "undefined" => v is UndefinedValue,
            "none" => v is NullValue,
            "boolean" => v is BoolValue,
            "true" => v is BoolValue { Value: true },
            "false" => v is BoolValue { Value: false },
            "string" => v is StringValue,
            "number" => v is IntValue or FloatValue,
            "integer" => v is IntValue,
            "float" => v is FloatValue,
            // The reference treats only lists and strings as iterable, and only dicts as mappings.
            "iterable" => v is ArrayValue or StringValue,
            "mapping" => v is ObjectValue,
            "sequence" => v is ArrayValue or ObjectValue or StringValue,
            "callable" => v is FunctionValue,
            "odd" => v is IntValue i ? i.Value % 2 != 0 : throw interp.Error(node, $"cannot test odd on {v.TypeName}"),
            "even" => v is IntValue j ? j.Value % 2 == 0 : throw interp.Error(node, $"cannot test even on {v.TypeName}"),
            "divisibleby" => v is IntValue k && Arg() is IntValue d && d.Value != 0 && k.Value % d.Value == 0,
            "lower" => v is StringValue ls && ls.Value == ls.Value.ToLowerInvariant(),
            "upper" => v is StringValue us && us.Value == us.Value.ToUpperInvariant(),
            "equalto" or "eq" or "==" => Operators.StrictEquals(v, Arg()),
            "ne" or "!=" => !Operators.StrictEquals(v, Arg()),
            "sameas" => ReferenceEquals(v, Arg()) || Operators.StrictEquals(v, Arg()) && v is not (ArrayValue or ObjectValue or NamespaceValue),
            "in" => Arg() switch
            {
                ArrayValue a => a.Items.Any(x => Operators.StrictEquals(x, v)),
                StringValue s => v is StringValue sv && s.Value.Contains(sv.Value, StringComparison.Ordinal),
                ObjectValue o => v is StringValue k2 && o.Entries.ContainsKey(k2.Value),
                _ => false,
            },
            _ => throw interp.Error(node, $"Unknown test: {name}"),
        };
    }
}
