namespace InferServe.Grammar;

public enum GrammarKind { JsonSchema, JsonObject, Regex, Gbnf }

/// <summary>
/// What a request constrains its output to, as given: a JSON schema text, any JSON object, a regex or a GBNF
/// grammar. <paramref name="Param"/> names the request field it came from, for errors.
/// </summary>
public sealed record GrammarSpec(GrammarKind Kind, string Source, string Param = "response_format");

/// <summary>A grammar, schema or regex that cannot be compiled; the message names the problem.</summary>
public sealed class GrammarException(string message) : Exception(message);
