using InferServe.Grammar.Compilation;
using InferServe.Grammar.Syntax;

namespace InferServe.Grammar;

/// <summary>Compiles what a request asks for to a byte-level program; recent results are kept, since clients repeat schemas.</summary>
public static class Grammars
{
    private const int CacheSize = 256;
    private static readonly Dictionary<(GrammarKind, string), GrammarProgram> Cache = [];
    private static readonly Queue<(GrammarKind, string)> Order = new();

    /// <summary>Throws <see cref="GrammarException"/> naming the problem.</summary>
    public static GrammarProgram Compile(GrammarSpec spec)
    {
        var key = (spec.Kind, spec.Kind == GrammarKind.JsonObject ? "" : spec.Source);
        lock (Cache)
            if (Cache.TryGetValue(key, out var cached)) return cached;
        if (spec.Source.Length > Limits.MaxSourceLength) throw new GrammarException($"The grammar is longer than {Limits.MaxSourceLength} characters.");
        var program = GrammarCompiler.Compile(Parse(spec));
        lock (Cache)
        {
            if (Cache.TryAdd(key, program))
            {
                Order.Enqueue(key);
                if (Order.Count > CacheSize) Cache.Remove(Order.Dequeue());
            }
        }
        return program;
    }

    /// <summary>
    /// A JSON schema as GBNF rules named <paramref name="prefix"/>+name, the start rule being <paramref name="prefix"/>root:
    /// for embedding in a larger grammar (e.g. a tool call whose arguments follow the function's parameter schema).
    /// </summary>
    public static string JsonSchemaToGbnf(string schema, string prefix) => GbnfWriter.Write(JsonSchemaConverter.Convert(schema), prefix);

    public static GrammarDefinition Parse(GrammarSpec spec) => spec.Kind switch
    {
        GrammarKind.JsonSchema => JsonSchemaConverter.Convert(spec.Source),
        GrammarKind.JsonObject => JsonSchemaConverter.AnyObject(),
        GrammarKind.Regex => RegexParser.ParseDefinition(spec.Source),
        _ => GbnfParser.Parse(spec.Source),
    };
}
