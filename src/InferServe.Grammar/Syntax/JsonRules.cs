namespace InferServe.Grammar.Syntax;

/// <summary>
/// Compact JSON (no whitespace between tokens, so an output cannot run on in spaces) and bounded numbers
/// (at most 16 integer digits, 15 fraction digits, 3 exponent digits), as grammar rules.
/// </summary>
internal static class JsonRules
{
    public const string Value = "json-value", Object = "json-object", Array = "json-array", String = "json-string",
        Char = "json-char", Integer = "json-int", Number = "json-number", Boolean = "json-bool", Null = "json-null";

    private static readonly Lazy<GrammarDefinition> Definitions = new(() => GbnfParser.Parse("""
        root ::= json-value
        json-value ::= json-object | json-array | json-string | json-number | json-bool | json-null
        json-object ::= "{" ( json-string ":" json-value ( "," json-string ":" json-value )* )? "}"
        json-array ::= "[" ( json-value ( "," json-value )* )? "]"
        json-string ::= "\"" json-char* "\""
        json-char ::= [^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
        json-int ::= "-"? json-uint
        json-uint ::= "0" | json-pint
        json-pint ::= [1-9] [0-9]{0,15}
        json-number ::= "-"? json-unumber
        json-unumber ::= json-uint ( "." [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,3} )?
        json-bool ::= "true" | "false"
        json-null ::= "null"
        """));

    /// <summary>Adds every JSON rule (without a root) to <paramref name="rules"/>.</summary>
    public static void AddTo(IDictionary<string, GrammarNode> rules)
    {
        foreach (var (name, node) in Definitions.Value.Rules)
            if (name != "root") rules[name] = node;
    }
}
