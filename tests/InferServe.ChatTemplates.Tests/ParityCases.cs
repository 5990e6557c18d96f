using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.ChatTemplates.Tests;

/// <summary>The real templates and conversations rendered by both implementations.</summary>
internal static class ParityCases
{
    public sealed record TemplateSpec(string Name, string File, string? Bos, string? Eos);

    public sealed record Conversation(string Name, IReadOnlyList<ChatMessage> Messages, IReadOnlyDictionary<string, object?>? Extra = null);

    public sealed record Case(string Id, TemplateSpec Template, Conversation Conversation, bool AddGenerationPrompt);

    public static readonly TemplateSpec[] Templates =
    [
        new("llama3.2", "llama3.2.jinja", "<|begin_of_text|>", "<|eot_id|>"),
        new("qwen2.5", "qwen2.5.jinja", null, "<|im_end|>"),
        new("smollm2", "smollm2.jinja", "<|im_start|>", "<|im_end|>"),
        new("mistral", "mistral.jinja", "<s>", "</s>"),
        new("zephyr", "zephyr.jinja", "<s>", "</s>"),
    ];

    // A fixed date so templates that call strftime_now (Llama 3.x) render deterministically.
    private static readonly Dictionary<string, object?> FixedDate = new() { ["date_string"] = "26 Nov 2026" };

    private const string Tricky =
        "She said \"hi\" and 'bye'.\nLine two\twith tab; backslash \\ and {{ not_a_tag }} {% raw %}\n  café 中文 🦙 — ok  ";

    public static readonly Conversation[] Conversations =
    [
        new("system_user", [new("system", "You are a helpful assistant."), new("user", "What is 2+2?")], FixedDate),
        new("multi_turn", [
            new("system", "Be brief."),
            new("user", "Hello!"),
            new("assistant", "Hi, how can I help?"),
            new("user", "Tell me a joke."),
        ], FixedDate),
        new("no_system", [new("user", "Hello!"), new("assistant", "Hi there."), new("user", "Bye.")], FixedDate),
        new("tricky_content", [
            new("system", "  Rules:\n1. \"Quote\" exactly.\n2. Keep 'this'.  "),
            new("user", Tricky),
            new("assistant", "Understood: \"quoted\" \\ 🦙\n"),
            new("user", "Ünïcödé ✓ \u00a0end"),
        ], FixedDate),
        new("single_user", [new("user", "Just one message.")], FixedDate),
    ];

    private static JsonElement Tools => JsonDocument.Parse("""
        [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city.",
          "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. \"Paris\""},
            "days": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
            "ratio": {"type": "number", "default": 0.5}},
          "required": ["city"]}}}]
        """).RootElement.Clone();

    private static JsonElement Arguments => JsonDocument.Parse("""{"city": "Zürich", "days": 2}""").RootElement.Clone();

    /// <summary>Tool-use conversations for the templates that support tools.</summary>
    public static readonly (string Template, Conversation Conversation)[] ToolConversations =
    [
        ("llama3.2", new("tools_in_user_message", [new("system", "You can call tools."), new("user", "Weather in Zürich?")],
            new Dictionary<string, object?> { ["tools"] = Tools, ["date_string"] = "26 Nov 2026" })),
        ("llama3.2", new("tools_in_system", [new("user", "Weather in Zürich?")],
            new Dictionary<string, object?> { ["tools"] = Tools, ["tools_in_user_message"] = false, ["date_string"] = "26 Nov 2026" })),
        ("llama3.2", new("tool_call_and_result", [
            new("user", "Weather in Zürich?"),
            new("assistant", null) { ToolCalls = [new ChatToolCall("get_weather", Arguments, "call_1")] },
            new("tool", "{\"temp_c\": 21}") { ToolCallId = "call_1" },
        ], new Dictionary<string, object?> { ["date_string"] = "26 Nov 2026" })),
        ("qwen2.5", new("tools", [new("system", "You can call tools."), new("user", "Weather in Zürich?")],
            new Dictionary<string, object?> { ["tools"] = Tools })),
        ("qwen2.5", new("tool_call_and_result", [
            new("user", "Weather in Zürich?"),
            new("assistant", "Let me check.") { ToolCalls = [new ChatToolCall("get_weather", Arguments, "call_1")] },
            new("tool", "{\"temp_c\": 21}") { ToolCallId = "call_1" },
            new("tool", "second result") { ToolCallId = "call_2" },
        ], new Dictionary<string, object?> { ["tools"] = Tools })),
    ];

    /// <summary>Mistral requires alternating roles: both implementations must raise the same message.</summary>
    public static readonly Conversation MistralBadRoles =
        new("not_alternating", [new("user", "One"), new("user", "Two")]);

    public static IEnumerable<Case> All()
    {
        foreach (var t in Templates)
        {
            foreach (var c in Conversations)
            {
                foreach (bool agp in new[] { true, false })
                    yield return new Case($"{t.Name}/{c.Name}/{(agp ? "gen" : "nogen")}", t, c, agp);
            }
        }

        foreach (var (name, c) in ToolConversations)
            yield return new Case($"{name}/{c.Name}/gen", Templates.Single(t => t.Name == name), c, true);
        yield return new Case($"mistral/{MistralBadRoles.Name}/gen", Templates.Single(t => t.Name == "mistral"), MistralBadRoles, true);
    }

    /// <summary>
    /// The variables the reference receives, built here from the messages independently of the library's own mapping,
    /// in the shape transformers passes them (content may be null; tool_calls only when present).
    /// </summary>
    public static JsonObject ReferenceContext(Case c)
    {
        var messages = new JsonArray();
        foreach (var m in c.Conversation.Messages)
        {
            var o = new JsonObject { ["role"] = m.Role, ["content"] = m.Content };
            if (m.ToolCalls is not null)
            {
                var calls = new JsonArray();
                foreach (var call in m.ToolCalls)
                {
                    var co = new JsonObject();
                    if (call.Id is not null) co["id"] = call.Id;
                    co["type"] = "function";
                    co["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = ToNode(call.Arguments) };
                    calls.Add(co);
                }
                o["tool_calls"] = calls;
            }
            if (m.Name is not null) o["name"] = m.Name;
            if (m.ToolCallId is not null) o["tool_call_id"] = m.ToolCallId;
            messages.Add(o);
        }
        var context = new JsonObject { ["messages"] = messages, ["add_generation_prompt"] = c.AddGenerationPrompt };
        if (c.Template.Bos is not null) context["bos_token"] = c.Template.Bos;
        if (c.Template.Eos is not null) context["eos_token"] = c.Template.Eos;
        foreach (var (k, v) in c.Conversation.Extra ?? new Dictionary<string, object?>()) context[k] = ToNode(v);
        return context;
    }

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonElement e => JsonNode.Parse(e.GetRawText()),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        _ => throw new NotSupportedException(value.GetType().Name),
    };
}
