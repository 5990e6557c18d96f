using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.Contracts;
using InferServe.Server.Tools;

namespace InferServe.Server.Responses;

/// <summary>
/// One response as it is generated: its output items, status and usage, built from the engine's events the same way
/// for the JSON answer and the event stream (so both agree), and written as OpenAI's response object.
/// </summary>
internal sealed class ResponseResult(ResponseRequest request, string id, string model, ToolCallParser? toolParser, bool parallelCalls)
{
    private readonly GenerationChoice _choice = new() { Tools = toolParser is null ? null : new ToolCallExtractor(toolParser, parallelCalls) };
    private readonly List<ParsedToolCall> _newCalls = [];
    private OutputItem? _message;

    public string Id { get; } = id;
    public long CreatedAt { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public ResponseRequest Request { get; } = request;
    public List<OutputItem> Output { get; } = [];
    public string Status { get; private set; } = "in_progress";
    public GenerationUsage Usage { get; private set; }
    public bool IsFinished => Status != "in_progress";

    /// <summary>Applies one engine event; <paramref name="events"/> hears each step (null when not streaming).</summary>
    public void Apply(in GenerationEvent e, IResponseEvents? events)
    {
        Usage = e.Usage;
        _newCalls.Clear();
        string content = _choice.Content(e.TextDelta, e.IsFinal, _newCalls);
        if (content.Length > 0)
        {
            if (_message is null)
            {
                _message = OutputItem.Message();
                Add(_message, events);
            }
            _message.Text.Append(content);
            events?.TextDelta(Output.Count - 1, _message, content);
        }
        foreach (var call in _newCalls)
        {
            CloseMessage(events); // text before a call is its own item
            var item = OutputItem.FunctionCall(call);
            Add(item, events);
            item.Status = "completed";
            events?.ItemDone(Output.Count - 1, item);
        }
        if (e.Finish is not { } finish) return;
        Status = finish switch
        {
            FinishReason.Stop => "completed",
            FinishReason.Length => "incomplete",
            FinishReason.Abort => "cancelled",
            _ => "failed",
        };
        if (Output.Count == 0 && Status != "failed") Add(_message = OutputItem.Message(), events); // an empty answer is still a message
        CloseMessage(events);
    }

    /// <summary>The generation broke off (a lost worker): the response failed.</summary>
    public void Fail() => Status = "failed";

    private void Add(OutputItem item, IResponseEvents? events)
    {
        Output.Add(item);
        events?.ItemAdded(Output.Count - 1, item);
    }

    private void CloseMessage(IResponseEvents? events)
    {
        if (_message is null) return;
        _message.Status = Status is "incomplete" or "cancelled" ? "incomplete" : "completed";
        events?.ItemDone(Output.IndexOf(_message), _message);
        _message = null;
    }

    /// <summary>The assistant turn as a chat message, for a follow-up's conversation.</summary>
    public JsonObject AssistantMessage()
    {
        string text = string.Concat(Output.Where(i => i.IsMessage).Select(i => i.Text.ToString()));
        var message = new JsonObject { ["role"] = "assistant", ["content"] = text };
        var calls = Output.Where(i => !i.IsMessage).Select(i => (JsonNode)new JsonObject
        {
            ["id"] = i.Call!.Id,
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = i.Call.Name, ["arguments"] = i.Call.Arguments },
        }).ToArray();
        if (calls.Length > 0)
        {
            if (text.Length == 0) message["content"] = null;
            message["tool_calls"] = new JsonArray(calls);
        }
        return message;
    }

    /// <summary>The response object, with the request's settings echoed as OpenAI does.</summary>
    public void Write(Utf8JsonWriter w)
    {
        var echo = Request.Echo;
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", CreatedAt);
        w.WriteString("status", Status);
        w.WriteBoolean("background", false);
        if (Status == "failed")
        {
            w.WriteStartObject("error");
            w.WriteString("code", "server_error");
            w.WriteString("message", "The engine failed while generating this response.");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("error");
        }

        if (Status == "incomplete")
        {
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", "max_output_tokens");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("incomplete_details");
        }

        Echo(w, echo, "instructions", null);
        Echo(w, echo, "max_output_tokens", null);
        w.WriteNull("max_tool_calls");
        w.WriteString("model", model);
        w.WriteStartArray("output");
        foreach (var item in Output) item.Write(w);
        w.WriteEndArray();
        Echo(w, echo, "parallel_tool_calls", true);
        Echo(w, echo, "previous_response_id", null);
        w.WriteStartObject("reasoning");
        w.WriteNull("effort");
        w.WriteNull("summary");
        w.WriteEndObject();
        w.WriteString("service_tier", "default");
        w.WriteBoolean("store", Request.Store);
        Echo(w, echo, "temperature", 1.0);
        w.WriteStartObject("text");
        if (echo.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.Object && text.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.Object)
        {
            w.WritePropertyName("format");
            format.WriteTo(w);
        }
        else
        {
            w.WriteStartObject("format");
            w.WriteString("type", "text");
            w.WriteEndObject();
        }
        w.WriteEndObject();
        Echo(w, echo, "tool_choice", "auto");
        EchoOrEmpty(w, echo, "tools", JsonValueKind.Array);
        Echo(w, echo, "top_p", 1.0);
        w.WriteString("truncation", "disabled");
        WriteUsage(w);
        Echo(w, echo, "user", null);
        EchoOrEmpty(w, echo, "metadata", JsonValueKind.Object);
        w.WriteEndObject();
    }

    private void WriteUsage(Utf8JsonWriter w)
    {
        if (!IsFinished)
        {
            w.WriteNull("usage");
            return;
        }
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", Usage.PromptTokens);
        w.WriteStartObject("input_tokens_details");
        w.WriteNumber("cached_tokens", Usage.CachedTokens);
        w.WriteEndObject();
        w.WriteNumber("output_tokens", Usage.CompletionTokens);
        w.WriteStartObject("output_tokens_details");
        w.WriteNumber("reasoning_tokens", 0);
        w.WriteEndObject();
        w.WriteNumber("total_tokens", Usage.PromptTokens + Usage.CompletionTokens);
        w.WriteEndObject();
    }

    /// <summary>A request array or object as sent, or an empty one.</summary>
    private static void EchoOrEmpty(Utf8JsonWriter w, JsonElement echo, string name, JsonValueKind kind)
    {
        w.WritePropertyName(name);
        if (echo.TryGetProperty(name, out var v) && v.ValueKind == kind)
        {
            v.WriteTo(w);
        }
        else if (kind == JsonValueKind.Array)
        {
            w.WriteStartArray();
            w.WriteEndArray();
        }
        else
        {
            w.WriteStartObject();
            w.WriteEndObject();
        }
    }

    /// <summary>A request field as sent, or its default when absent or null.</summary>
    private static void Echo(Utf8JsonWriter w, JsonElement echo, string name, object? fallback)
    {
        w.WritePropertyName(name);
        if (echo.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null)
        {
            v.WriteTo(w);
        }
        else
        {
            switch (fallback)
            {
                case bool b: w.WriteBooleanValue(b); break;
                case double d: w.WriteNumberValue(d); break;
                case string s: w.WriteStringValue(s); break;
                default: w.WriteNullValue(); break;
            }
        }
    }
}
