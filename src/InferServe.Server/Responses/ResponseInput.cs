using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.Server.Responses;

/// <summary>
/// Translates Responses input (a string, or a list of message, function_call and function_call_output items) into chat
/// messages, so the prompt is rendered by the chat path. Inputs this server cannot honour are a 400 naming the item.
/// </summary>
internal static class ResponseInput
{
    private static readonly HashSet<string> Roles = ["user", "system", "developer", "assistant"];

    /// <summary>Appends the input's chat messages to <paramref name="messages"/>.</summary>
    public static void AppendMessages(JsonElement input, JsonArray messages)
    {
        if (input.ValueKind == JsonValueKind.String)
        {
            messages.Add(Message("user", RequestFields.Text(input, "input")));
            return;
        }
        if (input.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError("input", "a string or an array of input items");
        int i = 0;
        foreach (var item in input.EnumerateArray())
        {
            string p = $"input[{i++}]";
            var (f, type) = Typed(item, p, defaultType: item.ValueKind == JsonValueKind.Object && item.TryGetProperty("role", out _) ? "message" : null);
            switch (type)
            {
                case "message": messages.Add(MessageItem(f, p)); break;
                case "function_call": AddFunctionCall(f, p, messages); break;
                case "function_call_output": messages.Add(FunctionCallOutput(f, p)); break;
                default:
                    throw new ApiException(400, $"Unsupported input item type '{type}' in '{p}': this server accepts message, function_call and function_call_output items.",
                        p + ".type", "unsupported_value", "invalid_request_error");
            }
        }
    }

    private static JsonObject MessageItem(RequestFields f, string p)
    {
        string role = f.String("role") ?? throw ApiException.BadRequest($"'{p}.role' is required.", p + ".role");
        if (!Roles.Contains(role)) throw ApiException.BadRequest($"'{p}.role' must be one of user, system, developer, assistant; got '{role}'.", p + ".role");
        if (!f.TryGet("content", out var content)) throw ApiException.BadRequest($"'{p}.content' is required.", p + ".content");
        return Message(role, Text(content, p + ".content"));
    }

    /// <summary>Content as a string or as text parts (input_text, output_text, refusal); images, files and audio are refused.</summary>
    private static string Text(JsonElement content, string p)
    {
        if (content.ValueKind == JsonValueKind.String) return RequestFields.Text(content, p);
        if (content.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError(p, "a string or an array of content parts");
        var sb = new StringBuilder();
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            string pp = $"{p}[{j++}]";
            var (f, type) = Typed(part, pp);
            string key = type switch
            {
                "input_text" or "output_text" => "text",
                "refusal" => "refusal",
                _ => throw new ApiException(400, $"Unsupported content part type '{type}' in '{pp}': this model accepts text only (input_text).",
                    pp + ".type", "unsupported_value", "invalid_request_error"),
            };
            sb.Append(f.String(key) ?? throw ApiException.BadRequest($"'{pp}.{key}' is required.", $"{pp}.{key}"));
        }
        return sb.ToString();
    }

    /// <summary>A call the model made earlier: joins the preceding assistant message, as chat's tool_calls do.</summary>
    private static void AddFunctionCall(RequestFields f, string p, JsonArray messages)
    {
        string callId = Required(f, "call_id", p), name = Required(f, "name", p), arguments = Required(f, "arguments", p);
        var call = new JsonObject
        {
            ["id"] = callId,
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
        };
        if (messages.Count > 0 && messages[^1] is JsonObject last && (string?)last["role"] == "assistant")
        {
            if (last["tool_calls"] is not JsonArray calls) last["tool_calls"] = calls = [];
            calls.Add(call);
            return;
        }
        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) });
    }

    private static JsonObject FunctionCallOutput(RequestFields f, string p)
    {
        string callId = Required(f, "call_id", p);
        if (!f.TryGet("output", out var output)) throw ApiException.BadRequest($"'{p}.output' is required.", p + ".output");
        return new JsonObject { ["role"] = "tool", ["tool_call_id"] = callId, ["content"] = Text(output, p + ".output") };
    }

    /// <summary>An object with a "type" (or <paramref name="defaultType"/>): its fields and its type; else a 400 naming <paramref name="p"/>.</summary>
    public static (RequestFields Fields, string Type) Typed(JsonElement e, string p, string? defaultType = null)
    {
        if (e.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError(p, "an object");
        var f = new RequestFields(e);
        return (f, f.String("type") ?? defaultType ?? throw ApiException.BadRequest($"'{p}.type' is required.", p + ".type"));
    }

    private static string Required(RequestFields f, string name, string p) =>
        f.String(name) ?? throw new ApiException(400, $"'{p}.{name}' is required.", $"{p}.{name}", "missing_required_parameter", "invalid_request_error");

    public static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };
}
