namespace InferServe.ChatTemplates;

/// <summary>One chat turn as templates see it: a dict with role, content and, when set, tool_calls, name, tool_call_id.</summary>
public sealed record ChatMessage(string Role, string? Content)
{
    /// <summary>Assistant tool calls; exposed as <c>tool_calls</c> only when non-null (templates test <c>'tool_calls' in message</c>).</summary>
    public IReadOnlyList<ChatToolCall>? ToolCalls { get; init; }

    public string? Name { get; init; }

    public string? ToolCallId { get; init; }
}

/// <summary>
/// A tool call, exposed as <c>{"id"?, "type": "function", "function": {"name", "arguments"}}</c>.
/// Arguments may be a JSON string (OpenAI wire form) or structured data (JsonElement, dictionary):
/// HF templates such as Llama 3.x and Qwen2.5 apply <c>tojson</c> to it and expect a mapping.
/// </summary>
public sealed record ChatToolCall(string Name, object? Arguments, string? Id = null);
