using System.Text;
using System.Text.Json;
using InferServe.Server.Tools;

namespace InferServe.Server.Responses;

/// <summary>One item of a response's output: an assistant message with one output_text part, or a function call.</summary>
internal sealed class OutputItem
{
    public required string Type { get; init; }
    public required string Id { get; init; }
    public string Status { get; set; } = "in_progress";
    /// <summary>Message: the output_text so far.</summary>
    public StringBuilder Text { get; } = new();
    /// <summary>Function call: the parsed call (complete when the item is added).</summary>
    public ParsedToolCall? Call { get; init; }

    public bool IsMessage => Type == "message";

    public static OutputItem Message() => new() { Type = "message", Id = "msg_" + Guid.NewGuid().ToString("N") };

    public static OutputItem FunctionCall(ParsedToolCall call) => new() { Type = "function_call", Id = "fc_" + Guid.NewGuid().ToString("N"), Call = call };

    /// <summary>The item object; <paramref name="opening"/>: as first announced (no content parts yet, arguments "").</summary>
    public void Write(Utf8JsonWriter w, bool opening = false)
    {
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("type", Type);
        w.WriteString("status", opening ? "in_progress" : Status);
        if (IsMessage)
        {
            w.WriteString("role", "assistant");
            w.WriteStartArray("content");
            if (!opening) WriteTextPart(w, Text.ToString());
            w.WriteEndArray();
        }
        else
        {
            w.WriteString("call_id", Call!.Id);
            w.WriteString("name", Call.Name);
            w.WriteString("arguments", opening ? "" : Call.Arguments);
        }
        w.WriteEndObject();
    }

    /// <summary>An output_text content part.</summary>
    public static void WriteTextPart(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "output_text");
        w.WriteString("text", text);
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
        w.WriteEndObject();
    }
}

/// <summary>Receives the output as it takes shape: the streaming writer turns each step into Responses events.</summary>
internal interface IResponseEvents
{
    void ItemAdded(int index, OutputItem item);
    void TextDelta(int index, OutputItem item, string delta);
    void ItemDone(int index, OutputItem item);
}
