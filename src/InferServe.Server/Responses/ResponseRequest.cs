using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.Server.Responses;

/// <summary>
/// A POST /v1/responses body, checked and translated into a chat completions request (<see cref="ChatBody"/>), so the
/// chat path renders, constrains and parses it. Every Responses field is mapped or refused here, in one place; the
/// fields the response object echoes are kept as sent.
/// </summary>
internal sealed class ResponseRequest
{
    /// <summary>Fields handled here; anything else is a 400 naming it.</summary>
    private static readonly HashSet<string> Known =
    [
        "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "seed", "stop", "parallel_tool_calls",
        "metadata", "user", "tools", "tool_choice", "text", "stream", "store", "previous_response_id", "truncation", "include",
        "background", "safety_identifier", "prompt_cache_key",
    ];

    /// <summary>OpenAI fields that ask for something this server does not do; named in the refusal.</summary>
    private static readonly Dictionary<string, string> Refused = new()
    {
        ["reasoning"] = "reasoning models and their settings are not supported",
        ["conversation"] = "conversation objects are not supported; chain turns with 'previous_response_id'",
        ["prompt"] = "stored prompt templates are not supported",
        ["top_logprobs"] = "logprobs are not offered on /v1/responses; use /v1/chat/completions",
        ["max_tool_calls"] = "limits on built-in tool calls do not apply: only function tools are supported",
        ["service_tier"] = "service tiers are not offered",
        ["stream_options"] = "stream options are not supported",
    };

    public required string? Model { get; init; }
    public required bool Stream { get; init; }
    public required bool Store { get; init; }
    public required string? PreviousResponseId { get; init; }
    public required string? Instructions { get; init; }
    /// <summary>The conversation so far as chat messages: the stored turns and this input, without the instructions (for the store).</summary>
    public required JsonArray Turns { get; init; }
    /// <summary>The translated chat completions request, with the whole conversation as its messages.</summary>
    public required JsonObject ChatBody { get; init; }
    /// <summary>The request as sent, for the fields the response object echoes.</summary>
    public required JsonElement Echo { get; init; }

    /// <summary>Checks the body and translates it; <paramref name="history"/> gives a stored conversation's chat messages.</summary>
    public static ResponseRequest Parse(JsonElement root, Func<string, JsonArray?> history)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("The request body must be a JSON object.");
        RejectUnsupported(root);
        var f = new RequestFields(root);
        if (!f.TryGet("input", out var input)) throw new ApiException(400, "'input' is required.", "input", "missing_required_parameter", "invalid_request_error");
        string? instructions = f.String("instructions");
        string? previous = f.String("previous_response_id");
        var turns = new JsonArray();
        if (previous is not null)
        {
            var earlier = history(previous) ?? throw new ApiException(400, $"Previous response with id '{previous}' not found.", "previous_response_id", "previous_response_not_found", "invalid_request_error");
            foreach (var m in earlier) turns.Add(m!.DeepClone());
        }
        ResponseInput.AppendMessages(input, turns);
        if (turns.Count == 0) throw ApiException.BadRequest("'input' must contain at least one item.", "input");

        var messages = new JsonArray();
        if (instructions is not null) messages.Add(ResponseInput.Message("system", instructions)); // not carried into a follow-up, as OpenAI does
        foreach (var m in turns) messages.Add(m!.DeepClone());

        var chat = new JsonObject { ["messages"] = messages };
        Copy(root, chat, "max_output_tokens", "max_completion_tokens");
        foreach (var name in (string[])["temperature", "top_p", "seed", "stop", "parallel_tool_calls"]) Copy(root, chat, name, name);
        if (f.TryGet("tools", out var tools)) chat["tools"] = ResponseTools.Tools(tools);
        if (f.TryGet("tool_choice", out var choice)) chat["tool_choice"] = ResponseTools.Choice(choice);
        if (f.TryGet("text", out var text) && ResponseTools.Format(text) is { } format) chat["response_format"] = format;
        return new ResponseRequest
        {
            Model = f.String("model"),
            Stream = f.Bool("stream") ?? false,
            Store = f.Bool("store") ?? true,
            PreviousResponseId = previous,
            Instructions = instructions,
            Turns = turns,
            ChatBody = chat,
            Echo = root.Clone(),
        };
    }

    private static void RejectUnsupported(JsonElement root)
    {
        var f = new RequestFields(root);
        foreach (var p in root.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Null || Known.Contains(p.Name)) continue;
            string why = Refused.TryGetValue(p.Name, out var reason) ? reason : "see docs/http-api.md for the supported fields";
            throw new ApiException(400, $"Unsupported field '{p.Name}': {why}.", p.Name, "unsupported_field", "invalid_request_error");
        }
        if (f.Bool("background") == true)
            throw new ApiException(400, "Unsupported field 'background': background responses are not supported; stream instead.", "background", "unsupported_field", "invalid_request_error");
        if (f.String("truncation") is { } truncation && truncation != "disabled")
            throw new ApiException(400, $"Unsupported value '{truncation}' for 'truncation': only \"disabled\" (a prompt over the context is a 400).", "truncation", "unsupported_value", "invalid_request_error");
        if (f.TryGet("include", out var include) && (include.ValueKind != JsonValueKind.Array || include.GetArrayLength() > 0))
            throw new ApiException(400, "Unsupported field 'include': no additional output data is offered.", "include", "unsupported_field", "invalid_request_error");
        if (f.TryGet("metadata", out var metadata)) CheckMetadata(metadata);
        f.String("user");
        f.String("safety_identifier");
        f.String("prompt_cache_key");
    }

    /// <summary>OpenAI's limits: at most 16 string values, keys up to 64 and values up to 512 characters.</summary>
    private static void CheckMetadata(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("metadata", "an object of strings");
        int count = 0;
        foreach (var p in metadata.EnumerateObject())
        {
            if (++count > 16 || p.Name.Length > 64 || p.Value.ValueKind != JsonValueKind.String || RequestFields.Text(p.Value, "metadata").Length > 512)
                throw ApiException.BadRequest("'metadata' holds at most 16 string values, keys up to 64 and values up to 512 characters.", "metadata");
        }
    }

    private static void Copy(JsonElement root, JsonObject chat, string from, string to)
    {
        if (root.TryGetProperty(from, out var v) && v.ValueKind != JsonValueKind.Null) chat[to] = JsonNode.Parse(v.GetRawText());
    }

    /// <summary>A chat-path error message with the fields named as this endpoint names them.</summary>
    public static string Message(string chatMessage) => chatMessage
        .Replace("max_completion_tokens", "max_output_tokens", StringComparison.Ordinal)
        .Replace("max_tokens", "max_output_tokens", StringComparison.Ordinal)
        .Replace("'response_format", "'text.format", StringComparison.Ordinal)
        .Replace(".function.", ".", StringComparison.Ordinal);

    /// <summary>A chat-path error's param in this endpoint's terms (max_completion_tokens is max_output_tokens, ...).</summary>
    public static string? Param(string? chatParam) => chatParam switch
    {
        null => null,
        "max_completion_tokens" or "max_tokens" => "max_output_tokens",
        "response_format" => "text.format",
        _ when chatParam.StartsWith("messages", StringComparison.Ordinal) => "input",
        _ when chatParam.StartsWith("tools[", StringComparison.Ordinal) => chatParam.Replace(".function.", ".", StringComparison.Ordinal),
        _ => chatParam,
    };
}
