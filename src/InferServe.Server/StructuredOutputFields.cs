using System.Text.Json;
using InferServe.Grammar;

namespace InferServe.Server;

/// <summary>
/// Reads what constrains the output: OpenAI's <c>response_format</c> (text, json_object, json_schema) and vLLM's
/// <c>guided_json</c>, <c>guided_regex</c>, <c>guided_grammar</c>, <c>guided_choice</c> and <c>structured_outputs</c>
/// {json|regex|grammar|choice}. At most one may be given. The grammar itself is checked by the engine's request
/// validator, which names the field in its 400.
/// </summary>
internal static class StructuredOutputFields
{
    public static GrammarSpec? Parse(RequestFields f)
    {
        var found = new List<GrammarSpec>();
        if (f.TryGet("response_format", out var rf) && ResponseFormat(rf) is { } spec) found.Add(spec);
        if (f.TryGet("guided_json", out var gj)) found.Add(Json(gj, "guided_json"));
        if (f.String("guided_regex") is { } regex) found.Add(new GrammarSpec(GrammarKind.Regex, regex, "guided_regex"));
        if (f.String("guided_grammar") is { } grammar) found.Add(new GrammarSpec(GrammarKind.Gbnf, grammar, "guided_grammar"));
        if (f.TryGet("guided_choice", out var gc)) found.Add(Choice(gc, "guided_choice"));
        if (f.TryGet("structured_outputs", out var so)) found.AddRange(StructuredOutputs(so));
        if (found.Count > 1)
            throw ApiException.BadRequest($"Only one output constraint may be given, got {string.Join(" and ", found.Select(s => s.Param))}.", found[1].Param);
        return found.Count == 1 ? found[0] : null;
    }

    private static GrammarSpec? ResponseFormat(JsonElement rf)
    {
        if (rf.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("response_format", "an object");
        var f = new RequestFields(rf);
        string type = f.String("type") ?? throw new ApiException(400, "'response_format.type' is required.", "response_format", "missing_required_parameter", "invalid_request_error");
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return new GrammarSpec(GrammarKind.JsonObject, "", "response_format");
            case "json_schema":
                if (!f.TryGet("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("'response_format.json_schema' must be an object with a 'schema'.", "response_format");
                var inner = new RequestFields(js);
                string? name = inner.String("name");
                if (name is not null && (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
                    throw ApiException.BadRequest("'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'.", "response_format");
                inner.Bool("strict"); // strict or not, the output is held to the schema
                if (!inner.TryGet("schema", out var schema)) return new GrammarSpec(GrammarKind.JsonObject, "", "response_format");
                return Json(schema, "response_format");
            default:
                throw ApiException.BadRequest($"Unsupported 'response_format.type' '{type}' (expected text, json_object or json_schema).", "response_format");
        }
    }

    private static IEnumerable<GrammarSpec> StructuredOutputs(JsonElement so)
    {
        if (so.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("structured_outputs", "an object");
        var f = new RequestFields(so);
        foreach (var p in so.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Null) continue;
            string param = "structured_outputs." + p.Name;
            yield return p.Name switch
            {
                "json" => Json(p.Value, param),
                "regex" => new GrammarSpec(GrammarKind.Regex, f.String("regex")!, param),
                "grammar" => new GrammarSpec(GrammarKind.Gbnf, f.String("grammar")!, param),
                "choice" => Choice(p.Value, param),
                "json_object" => f.Bool("json_object") == true ? new GrammarSpec(GrammarKind.JsonObject, "", param) : throw ApiException.BadRequest($"'{param}' must be true when given.", param),
                _ => throw ApiException.BadRequest($"Unsupported field '{param}' (supported: json, regex, grammar, choice, json_object).", param),
            };
        }
    }

    /// <summary>A schema given as an object, or as a JSON string holding one (vLLM accepts both).</summary>
    private static GrammarSpec Json(JsonElement value, string param) => value.ValueKind switch
    {
        JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False => new GrammarSpec(GrammarKind.JsonSchema, value.GetRawText(), param),
        JsonValueKind.String => new GrammarSpec(GrammarKind.JsonSchema, value.GetString()!, param),
        _ => throw RequestFields.TypeError(param, "a JSON schema object"),
    };

    /// <summary>One of the given strings, exactly: a grammar of literal alternatives.</summary>
    private static GrammarSpec Choice(JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0 || value.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
            throw RequestFields.TypeError(param, "a non-empty array of strings");
        var options = value.EnumerateArray().Select(c => JsonSerializer.Serialize(c.GetString()!, GbnfLiteral));
        return new GrammarSpec(GrammarKind.Gbnf, "root ::= " + string.Join(" | ", options), param);
    }

    // GBNF literals take JSON's escapes for quotes, backslashes and control characters.
    private static readonly JsonSerializerOptions GbnfLiteral = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
