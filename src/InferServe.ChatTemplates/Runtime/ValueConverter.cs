using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>
/// Converts caller data (messages, tools, extra variables) into runtime values.
/// Integral numbers become integers, as JavaScript's Number.isInteger does in the reference.
/// </summary>
internal static class ValueConverter
{
    private const int MaxDepth = 128;

    public static Value FromMessage(ChatMessage message)
    {
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal)
        {
            ["role"] = new StringValue(message.Role),
            ["content"] = message.Content is null ? NullValue.Instance : new StringValue(message.Content),
        };
        if (message.ToolCalls is not null)
            entries["tool_calls"] = new ArrayValue(message.ToolCalls.Select(FromToolCall).ToList());
        if (message.Name is not null) entries["name"] = new StringValue(message.Name);
        if (message.ToolCallId is not null) entries["tool_call_id"] = new StringValue(message.ToolCallId);
        return new ObjectValue(entries);
    }

    private static Value FromToolCall(ChatToolCall call)
    {
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        if (call.Id is not null) entries["id"] = new StringValue(call.Id);
        entries["type"] = new StringValue("function");
        entries["function"] = new ObjectValue(new OrderedDictionary<string, Value>(StringComparer.Ordinal)
        {
            ["name"] = new StringValue(call.Name),
            ["arguments"] = FromObject(call.Arguments),
        });
        return new ObjectValue(entries);
    }

    public static Value FromObject(object? input) => FromObject(input, 0);

    private static Value FromObject(object? input, int depth)
    {
        if (depth > MaxDepth)
            throw new ChatTemplateException(ChatTemplateErrorKind.LimitExceeded, $"Template variable nested deeper than {MaxDepth}");
        switch (input)
        {
            case null: return NullValue.Instance;
            case Value v: return v;
            case string s: return new StringValue(s);
            case bool b: return BoolValue.Of(b);
            case int or long or short or sbyte or byte or ushort or uint: return new IntValue(Convert.ToInt64(input));
            case ulong ul: return ul <= long.MaxValue ? new IntValue((long)ul) : new FloatValue(ul);
            case double or float or decimal: return FromNumber(Convert.ToDouble(input));
            case ChatMessage m: return FromMessage(m);
            case ChatToolCall c: return FromToolCall(c);
            case JsonElement e: return FromJson(e, depth);
            case JsonNode n: return FromJson(JsonDocument.Parse(n.ToJsonString()).RootElement, depth);
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                {
                    var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                    foreach (var (k, val) in pairs) entries[k] = FromObject(val, depth + 1);
                    return new ObjectValue(entries);
                }
            case IDictionary dict:
                {
                    var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                    foreach (DictionaryEntry de in dict) entries[Convert.ToString(de.Key) ?? ""] = FromObject(de.Value, depth + 1);
                    return new ObjectValue(entries);
                }
            case IEnumerable seq:
                {
                    var items = new List<Value>();
                    foreach (var item in seq) items.Add(FromObject(item, depth + 1));
                    return new ArrayValue(items);
                }
            default:
                throw new ArgumentException($"Unsupported template variable type: {input.GetType()}");
        }
    }

    private static Value FromNumber(double d) =>
        d % 1 == 0 && Math.Abs(d) <= 9007199254740991d ? new IntValue((long)d) : new FloatValue(d);

    private static Value FromJson(JsonElement e, int depth)
    {
        if (depth > MaxDepth)
            throw new ChatTemplateException(ChatTemplateErrorKind.LimitExceeded, $"Template variable nested deeper than {MaxDepth}");
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                {
                    var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                    foreach (var p in e.EnumerateObject()) entries[p.Name] = FromJson(p.Value, depth + 1);
                    return new ObjectValue(entries);
                }
            case JsonValueKind.Array: return new ArrayValue(e.EnumerateArray().Select(x => FromJson(x, depth + 1)).ToList());
            case JsonValueKind.String: return new StringValue(e.GetString()!);
            case JsonValueKind.Number:
                return e.TryGetInt64(out var l) ? new IntValue(l) : FromNumber(e.GetDouble());
            case JsonValueKind.True: return BoolValue.True;
            case JsonValueKind.False: return BoolValue.False;
            case JsonValueKind.Null: return NullValue.Instance;
            default: return UndefinedValue.Instance;
        }
    }
}
