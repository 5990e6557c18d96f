using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.Server.Responses;

/// <summary>
/// Responses' flat function tools, tool_choice and text.format in chat's nested shapes. Built-in tools (web_search,
/// file_search, ...) are refused: the server runs none of them.
/// </summary>
internal static class ResponseTools
{
    /// <summary>{type:function, name, description, parameters, strict} as {type:function, function:{...}}.</summary>
    public static JsonNode Tools(JsonElement tools)
    {
        if (tools.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError("tools", "an array");
        var list = new JsonArray();
        int i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            string p = $"tools[{i++}]";
            var (f, type) = ResponseInput.Typed(t, p);
            if (type != "function")
            {
                throw new ApiException(400, $"Unsupported tool type '{type}' in '{p}': built-in tools are not available on this server; only function tools are supported.",
                    p + ".type", "unsupported_value", "invalid_request_error");
            }

            f.Bool("strict"); // strict or not, forced calls are held to the schema
            var function = new JsonObject();
            foreach (var name in (string[])["name", "description", "parameters", "strict"])
                if (t.TryGetProperty(name, out var v)) function[name] = JsonNode.Parse(v.GetRawText());
            list.Add(new JsonObject { ["type"] = "function", ["function"] = function });
        }
        return list;
    }

    /// <summary>"none", "auto", "required" as they are; {type:function, name} as chat's named choice.</summary>
    public static JsonNode? Choice(JsonElement choice)
    {
        if (choice.ValueKind != JsonValueKind.Object) return JsonNode.Parse(choice.GetRawText());
        var f = new RequestFields(choice);
        string? type = f.String("type");
        if (type != "function")
        {
            throw new ApiException(400, $"Unsupported 'tool_choice' type '{type}': use \"none\", \"auto\", \"required\" or {{\"type\":\"function\",\"name\":...}}.",
                "tool_choice", "unsupported_value", "invalid_request_error");
        }

        string name = f.String("name") ?? throw ApiException.BadRequest("A named 'tool_choice' needs 'name'.", "tool_choice");
        return new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name } };
    }

    /// <summary>text.format as chat's response_format; null for plain text.</summary>
    public static JsonNode? Format(JsonElement text)
    {
        if (text.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("text", "an object");
        foreach (var p in text.EnumerateObject())
        {
            if (p.Name != "format" && p.Value.ValueKind != JsonValueKind.Null)
                throw new ApiException(400, $"Unsupported field 'text.{p.Name}': only 'text.format' is supported.", "text." + p.Name, "unsupported_field", "invalid_request_error");
        }

        if (!new RequestFields(text).TryGet("format", out var format)) return null;
        if (format.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("text.format", "an object");
        var f = new RequestFields(format);
        switch (f.String("type"))
        {
            case "text": return null;
            case "json_object": return new JsonObject { ["type"] = "json_object" };
            case "json_schema":
                var schema = new JsonObject();
                foreach (var name in (string[])["name", "schema", "strict"]) // a description does not change decoding
                    if (format.TryGetProperty(name, out var v)) schema[name] = JsonNode.Parse(v.GetRawText());
                if (!schema.ContainsKey("schema")) throw ApiException.BadRequest("'text.format.schema' is required for json_schema.", "text.format.schema");
                return new JsonObject { ["type"] = "json_schema", ["json_schema"] = schema };
            case var other:
                throw new ApiException(400, $"Unsupported 'text.format.type' '{other}' (expected text, json_object or json_schema).", "text.format.type", "unsupported_value", "invalid_request_error");
        }
    }
}
