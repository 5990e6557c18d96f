using System.Text.Json;
using System.Text.RegularExpressions;

namespace InferServe.Server.Tools;

internal enum ToolChoiceMode { None, Auto, Required, Named }

/// <summary>A function the client offers: its name and JSON-schema parameters (null when it takes none).</summary>
internal sealed record ToolFunction(string Name, JsonElement? Parameters);

/// <summary>
/// What a forced tool choice (<c>required</c> or a named function) asks of decoding: the output must be a call to one of
/// <see cref="Functions"/>, with arguments valid for its parameter schema. <see cref="ToolCallGrammar"/> turns it into a grammar
/// in the model's tool-call format, which the sampler masks with.
/// </summary>
internal sealed record ToolCallConstraint(IReadOnlyList<ToolFunction> Functions, bool Parallel);

/// <summary>The validated <c>tools</c>, <c>tool_choice</c> and <c>parallel_tool_calls</c> of a chat request.</summary>
internal sealed partial class ToolRequest
{
    /// <summary>The <c>tools</c> array as sent, handed to the chat template as HF transformers does.</summary>
    public required JsonElement Tools { get; init; }
    public required IReadOnlyList<ToolFunction> Functions { get; init; }
    public ToolChoiceMode Choice { get; init; } = ToolChoiceMode.Auto;
    public string? ChosenFunction { get; init; }
    public bool Parallel { get; init; } = true;

    /// <summary>Whether the output is searched for calls (never under <c>tool_choice: none</c>).</summary>
    public bool ParsesCalls => Choice != ToolChoiceMode.None;

    /// <summary>The decoding constraint a forced choice needs, or null for none/auto.</summary>
    public ToolCallConstraint? Constraint => Choice switch
    {
        ToolChoiceMode.Required => new ToolCallConstraint(Functions, Parallel),
        ToolChoiceMode.Named => new ToolCallConstraint([.. Functions.Where(f => f.Name == ChosenFunction)], Parallel: false),
        _ => null,
    };

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();

    /// <summary>Reads the tool fields; null when the request has no tools (then tool_choice may only be "none").</summary>
    public static ToolRequest? Parse(RequestFields f)
    {
        bool? parallel = f.Bool("parallel_tool_calls");
        f.TryGet("tool_choice", out var choice);
        if (!f.TryGet("tools", out var tools))
        {
            if (choice.ValueKind != JsonValueKind.Undefined && !(choice.ValueKind == JsonValueKind.String && choice.GetString() == "none"))
                throw ApiException.BadRequest("'tool_choice' is only allowed when 'tools' are specified.", "tool_choice");
            return null;
        }
        if (tools.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError("tools", "an array");
        if (tools.GetArrayLength() == 0) throw ApiException.BadRequest("'tools' must not be empty; leave it out instead.", "tools");
        if (tools.GetArrayLength() > 128) throw ApiException.BadRequest("'tools' accepts at most 128 tools.", "tools");
        var functions = new List<ToolFunction>();
        int i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            string p = $"tools[{i++}]";
            if (t.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError(p, "an object");
            if (!t.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
                throw ApiException.BadRequest($"'{p}.type' must be \"function\" (the only tool type this server supports).", p + ".type");
            if (!t.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object)
                throw ApiException.BadRequest($"'{p}.function' is required and must be an object.", p + ".function");
            if (!fn.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !FunctionName().IsMatch(name.GetString()!))
                throw ApiException.BadRequest($"'{p}.function.name' is required: 1 to 64 letters, digits, underscores or dashes.", p + ".function.name");
            JsonElement? parameters = null;
            if (fn.TryGetProperty("parameters", out var ps) && ps.ValueKind != JsonValueKind.Null)
            {
                if (ps.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError(p + ".function.parameters", "a JSON schema object");
                parameters = ps.Clone();
            }
            if (functions.Any(x => x.Name == name.GetString()))
                throw ApiException.BadRequest($"'{p}.function.name': '{name.GetString()}' is declared twice.", p + ".function.name");
            functions.Add(new ToolFunction(name.GetString()!, parameters));
        }
        var mode = ToolChoiceMode.Auto;
        string? chosen = null;
        switch (choice.ValueKind)
        {
            case JsonValueKind.Undefined: break;
            case JsonValueKind.String:
                mode = choice.GetString() switch
                {
                    "none" => ToolChoiceMode.None,
                    "auto" => ToolChoiceMode.Auto,
                    "required" => ToolChoiceMode.Required,
                    var other => throw ApiException.BadRequest($"'tool_choice' must be \"none\", \"auto\", \"required\" or {{\"type\":\"function\",\"function\":{{\"name\":...}}}}; got \"{other}\".", "tool_choice"),
                };
                break;
            case JsonValueKind.Object:
                if (!choice.TryGetProperty("type", out var ct) || ct.GetString() != "function"
                    || !choice.TryGetProperty("function", out var cf) || cf.ValueKind != JsonValueKind.Object
                    || !cf.TryGetProperty("name", out var cn) || cn.ValueKind != JsonValueKind.String)
                {
                    throw ApiException.BadRequest("A named 'tool_choice' must be {\"type\":\"function\",\"function\":{\"name\":...}}.", "tool_choice");
                }

                chosen = cn.GetString();
                if (!functions.Any(x => x.Name == chosen))
                    throw ApiException.BadRequest($"'tool_choice' names the function '{chosen}', which is not in 'tools'.", "tool_choice");
                mode = ToolChoiceMode.Named;
                break;
            default: throw RequestFields.TypeError("tool_choice", "a string or an object");
        }
        return new ToolRequest { Tools = tools.Clone(), Functions = functions, Choice = mode, ChosenFunction = chosen, Parallel = parallel ?? true };
    }
}
