namespace InferServe.ChatTemplates.Runtime;

/// <summary>Variable scope: for-loops and macro calls get a child scope, so their sets do not leak out.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, Value> _variables = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public void Set(string name, Value value) => _variables[name] = value;

    public Value Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out var value)) return value;
        }
        return UndefinedValue.Instance;
    }
}
