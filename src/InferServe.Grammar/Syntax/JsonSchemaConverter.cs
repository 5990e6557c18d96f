using System.Text.Encodings.Web;
using System.Text.Json;

namespace InferServe.Grammar.Syntax;

/// <summary>
/// Turns a JSON schema into grammar rules for compact JSON that validates against it. Supported: type (one or
/// several), properties, required, additionalProperties (absent means false, as in strict structured outputs),
/// enum, const, items, minItems, maxItems, nested objects, $ref into $defs/definitions (recursion allowed),
/// anyOf/oneOf, allOf with one schema, string minLength/maxLength/pattern/format (date, time, date-time, uuid,
/// ipv4, email), and minimum/maximum/exclusiveMinimum/exclusiveMaximum on integers and numbers plus whole-number
/// multipleOf (<see cref="NumberSchemas"/>). Properties come out in schema order. Anything else is
/// refused by name, so no constraint is silently dropped.
/// </summary>
public sealed class JsonSchemaConverter
{
    private static readonly HashSet<string> Annotations = ["title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"];
    private static readonly HashSet<string> Common = ["type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref"];
    private static readonly HashSet<string> ObjectKeys = ["properties", "required", "additionalProperties"];
    private static readonly HashSet<string> ArrayKeys = ["items", "minItems", "maxItems"];
    private static readonly HashSet<string> StringKeys = ["minLength", "maxLength", "pattern", "format"];
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Dictionary<string, string> Formats = new()
    {
        ["date"] = @"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])",
        ["time"] = @"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)",
        ["date-time"] = @"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)",
        ["uuid"] = @"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ["ipv4"] = @"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)",
        ["email"] = @"[a-z0-9]{1,20}@[a-z0-9]{1,20}\.[a-z]{2,6}",
    };

    private readonly JsonElement _root;
    private readonly Dictionary<string, GrammarNode> _rules = [];
    private readonly Dictionary<string, string> _refRules = [];
    private int _next;

    private JsonSchemaConverter(JsonElement root) => _root = root;

    public static GrammarDefinition Convert(string schemaText)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(schemaText, new JsonDocumentOptions { MaxDepth = 128 }); }
        catch (JsonException e) { throw new GrammarException($"JSON schema: not valid JSON ({e.Message})"); }
        using (doc)
        {
            var c = new JsonSchemaConverter(doc.RootElement);
            JsonRules.AddTo(c._rules);
            c._rules["root"] = c.Schema(doc.RootElement, "#");
            return new GrammarDefinition(c._rules, "root");
        }
    }

    /// <summary>Any JSON object (OpenAI's json_object mode).</summary>
    public static GrammarDefinition AnyObject()
    {
        var rules = new Dictionary<string, GrammarNode>();
        JsonRules.AddTo(rules);
        rules["root"] = new RuleRefNode(JsonRules.Object);
        return new GrammarDefinition(rules, "root");
    }

    private GrammarNode Schema(JsonElement s, string path)
    {
        if (s.ValueKind == JsonValueKind.True) return new RuleRefNode(JsonRules.Value);
        if (s.ValueKind == JsonValueKind.False) throw Fail($"the schema at {path} is false, so nothing can match it");
        if (s.ValueKind != JsonValueKind.Object) throw Fail($"the schema at {path} must be an object or a boolean");

        if (s.TryGetProperty("$ref", out var r)) return Ref(r, path);
        if (s.TryGetProperty("const", out var constant)) return Literal(constant);
        if (s.TryGetProperty("enum", out var e))
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0) throw Fail($"'enum' at {path} must be a non-empty array");
            return new ChoiceNode([.. e.EnumerateArray().Select(Literal)]);
        }
        foreach (var key in (string[])["anyOf", "oneOf"])
        {
            if (s.TryGetProperty(key, out var any))
            {
                if (any.ValueKind != JsonValueKind.Array || any.GetArrayLength() == 0) throw Fail($"'{key}' at {path} must be a non-empty array");
                CheckKeys(s, path, []);
                return new ChoiceNode([.. any.EnumerateArray().Select((x, i) => Schema(x, $"{path}/{key}/{i}"))]);
            }
        }

        if (s.TryGetProperty("allOf", out var all))
        {
            if (all.ValueKind != JsonValueKind.Array || all.GetArrayLength() != 1) throw Fail($"'allOf' at {path} is only supported with exactly one schema");
            CheckKeys(s, path, []);
            return Schema(all[0], $"{path}/allOf/0");
        }

        List<string> types;
        if (s.TryGetProperty("type", out var t))
        {
            if (t.ValueKind == JsonValueKind.String) types = [t.GetString()!];
            else if (t.ValueKind == JsonValueKind.Array && t.GetArrayLength() > 0 && t.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String))
                types = [.. t.EnumerateArray().Select(x => x.GetString()!)];
            else throw Fail($"'type' at {path} must be a string or an array of strings");
        }
        else if (s.TryGetProperty("properties", out _) || s.TryGetProperty("additionalProperties", out _))
        {
            types = ["object"];
        }
        else if (s.TryGetProperty("items", out _))
        {
            types = ["array"];
        }
        else
        {
            CheckKeys(s, path, []);
            return new RuleRefNode(JsonRules.Value);
        }

        var allowed = new HashSet<string>();
        foreach (var type in types)
        {
            allowed.UnionWith(type switch
            {
                "object" => ObjectKeys,
                "array" => ArrayKeys,
                "string" => StringKeys,
                "integer" or "number" => NumberSchemas.Keys,
                "boolean" or "null" => [],
                _ => throw Fail($"unknown type '{type}' at {path}"),
            });
        }

        CheckKeys(s, path, allowed);
        var options = types.Select(type => type switch
        {
            "object" => ObjectSchema(s, path),
            "array" => ArraySchema(s, path),
            "string" => StringSchema(s, path),
            "integer" => NumberSchemas.Build(s, path, integer: true, _rules, $"mul{_next++}"),
            "number" => NumberSchemas.Build(s, path, integer: false, _rules, $"mul{_next++}"),
            "boolean" => new RuleRefNode(JsonRules.Boolean),
            _ => (GrammarNode)new RuleRefNode(JsonRules.Null),
        }).ToList();
        return options.Count == 1 ? options[0] : new ChoiceNode(options);
    }

    private static void CheckKeys(JsonElement s, string path, HashSet<string> allowed)
    {
        foreach (var p in s.EnumerateObject())
        {
            if (!Annotations.Contains(p.Name) && !Common.Contains(p.Name) && !allowed.Contains(p.Name))
                throw Fail($"unsupported keyword '{p.Name}' at {path}");
        }
    }

    private GrammarNode Ref(JsonElement r, string path)
    {
        if (r.ValueKind != JsonValueKind.String) throw Fail($"'$ref' at {path} must be a string");
        string target = r.GetString()!;
        if (_refRules.TryGetValue(target, out var existing)) return new RuleRefNode(existing);
        if (!target.StartsWith('#')) throw Fail($"'$ref' '{target}' at {path}: only local references (#/...) are supported");
        var node = _root;
        foreach (var raw in target[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string part = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(part, out node))
                throw Fail($"'$ref' '{target}' at {path} does not resolve");
        }
        string name = $"ref{_next++}";
        _refRules[target] = name;
        _rules[name] = Schema(node, target);
        return new RuleRefNode(name);
    }

    private GrammarNode ObjectSchema(JsonElement s, string path)
    {
        var props = new List<(string Name, GrammarNode Value, bool Required)>();
        var required = new HashSet<string>();
        if (s.TryGetProperty("required", out var req))
        {
            if (req.ValueKind != JsonValueKind.Array || req.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                throw Fail($"'required' at {path} must be an array of strings");
            required.UnionWith(req.EnumerateArray().Select(x => x.GetString()!));
        }
        if (s.TryGetProperty("properties", out var properties))
        {
            if (properties.ValueKind != JsonValueKind.Object) throw Fail($"'properties' at {path} must be an object");
            foreach (var p in properties.EnumerateObject())
                props.Add((p.Name, Schema(p.Value, $"{path}/properties/{p.Name}"), required.Contains(p.Name)));
        }
        foreach (var name in required)
            if (!props.Any(p => p.Name == name)) throw Fail($"required property '{name}' at {path} is not in 'properties'");

        GrammarNode? extra = null;
        if (s.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind != JsonValueKind.False)
            extra = new SequenceNode([new RuleRefNode(JsonRules.String), LiteralNode.Of(":"), Schema(ap, $"{path}/additionalProperties")]);

        // Rule (i, first): properties i.. where 'first' means nothing has been written yet (no comma before).
        string prefix = $"obj{_next++}";
        string Name(int i, bool first) => $"{prefix}-{i}{(first ? "f" : "n")}";
        for (int i = props.Count; i >= 0; i--)
        {
            foreach (bool first in (bool[])[true, false])
            {
                GrammarNode body;
                if (i == props.Count)
                {
                    if (extra is null)
                    {
                        body = new SequenceNode([]);
                    }
                    else
                    {
                        var more = new RepeatNode(new SequenceNode([LiteralNode.Of(","), extra]), 0, -1);
                        body = first ? new RepeatNode(new SequenceNode([extra, more]), 0, 1) : more;
                    }
                }
                else
                {
                    var (name, value, isRequired) = props[i];
                    var key = LiteralNode.Of((first ? "" : ",") + JsonSerializer.Serialize(name, Compact) + ":");
                    var present = new SequenceNode([key, value, new RuleRefNode(Name(i + 1, false))]);
                    body = isRequired ? present : new ChoiceNode([present, new RuleRefNode(Name(i + 1, first))]);
                }
                _rules[Name(i, first)] = body;
            }
        }

        return new SequenceNode([LiteralNode.Of("{"), new RuleRefNode(Name(0, true)), LiteralNode.Of("}")]);
    }

    private GrammarNode ArraySchema(JsonElement s, string path)
    {
        GrammarNode item = new RuleRefNode(JsonRules.Value);
        if (s.TryGetProperty("items", out var items))
        {
            string name = $"item{_next++}";
            _rules[name] = Schema(items, $"{path}/items");
            item = new RuleRefNode(name);
        }
        int min = Count(s, "minItems", path) ?? 0;
        int max = Count(s, "maxItems", path) ?? -1;
        if (max != -1 && max < min) throw Fail($"'maxItems' at {path} is below 'minItems'");
        if (max == 0) return LiteralNode.Of("[]");
        var rest = new RepeatNode(new SequenceNode([LiteralNode.Of(","), item]), Math.Max(min - 1, 0), max == -1 ? -1 : max - 1);
        GrammarNode elements = new SequenceNode([item, rest]);
        if (min == 0) elements = new RepeatNode(elements, 0, 1);
        return new SequenceNode([LiteralNode.Of("["), elements, LiteralNode.Of("]")]);
    }

    private GrammarNode StringSchema(JsonElement s, string path)
    {
        int? min = Count(s, "minLength", path), max = Count(s, "maxLength", path);
        string? pattern = null;
        if (s.TryGetProperty("pattern", out var pat))
        {
            if (pat.ValueKind != JsonValueKind.String) throw Fail($"'pattern' at {path} must be a string");
            pattern = pat.GetString()!;
        }
        if (s.TryGetProperty("format", out var fmt))
        {
            if (fmt.ValueKind != JsonValueKind.String) throw Fail($"'format' at {path} must be a string");
            if (!Formats.TryGetValue(fmt.GetString()!, out var formatPattern))
                throw Fail($"unsupported format '{fmt.GetString()}' at {path} (supported: {string.Join(", ", Formats.Keys)})");
            if (pattern is not null) throw Fail($"'format' together with 'pattern' at {path} is not supported");
            pattern = formatPattern;
        }
        if (pattern is not null)
        {
            if (min is not null || max is not null) throw Fail($"'pattern' or 'format' together with 'minLength'/'maxLength' at {path} is not supported");
            var regex = RegexParser.Parse(pattern, $"JSON schema: 'pattern' at {path}");
            return new SequenceNode([LiteralNode.Of("\""), JsonSafe(regex, path), LiteralNode.Of("\"")]);
        }
        if (max is not null && max < (min ?? 0)) throw Fail($"'maxLength' at {path} is below 'minLength'");
        if (min is null && max is null) return new RuleRefNode(JsonRules.String);
        return new SequenceNode([LiteralNode.Of("\""), new RepeatNode(new RuleRefNode(JsonRules.Char), min ?? 0, max ?? -1), LiteralNode.Of("\"")]);
    }

    private static int? Count(JsonElement s, string key, string path)
    {
        if (!s.TryGetProperty(key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < 0) throw Fail($"'{key}' at {path} must be a non-negative integer");
        if (n > Limits.MaxRepeat) throw Fail($"'{key}' at {path} is above the supported {Limits.MaxRepeat}");
        return n;
    }

    private static LiteralNode Literal(JsonElement value) => LiteralNode.Of(JsonSerializer.Serialize(value, Compact));

    /// <summary>Keeps a string pattern inside a JSON string literal: characters JSON must escape are left out.</summary>
    private static GrammarNode JsonSafe(GrammarNode node, string path) => node switch
    {
        CharClassNode c => c.Without([(0, 0x1F), ('"', '"'), ('\\', '\\')]) is { Ranges.Count: > 0 } safe ? safe
            : throw Fail($"'pattern' at {path} needs a character that JSON strings must escape"),
        LiteralNode l => l.Bytes.Any(b => b < 0x20 || b == '"' || b == '\\') ? throw Fail($"'pattern' at {path} needs a character that JSON strings must escape") : l,
        SequenceNode q => new SequenceNode([.. q.Items.Select(x => JsonSafe(x, path))]),
        ChoiceNode c => new ChoiceNode([.. c.Options.Select(x => JsonSafe(x, path))]),
        RepeatNode r => r with { Item = JsonSafe(r.Item, path) },
        _ => node,
    };

    private static GrammarException Fail(string what) => new($"JSON schema: {what}.");
}
