using System.Text.Json;
using InferServe.ChatTemplates.Lexing;
using InferServe.ChatTemplates.Parsing;
using InferServe.ChatTemplates.Runtime;

namespace InferServe.ChatTemplates;

/// <summary>
/// A parsed Hugging Face chat template (the Jinja subset used by tokenizer_config.json files),
/// rendered with the same environment as transformers: trim_blocks and lstrip_blocks on,
/// undefined variables empty. Output matches @huggingface/jinja. Parse once, render many times;
/// instances are immutable and thread-safe.
/// </summary>
public sealed class ChatTemplate
{
    private readonly SourceText _source;
    private readonly IReadOnlyList<Node> _body;
    private readonly ChatTemplateOptions _options;

    private ChatTemplate(SourceText source, IReadOnlyList<Node> body, ChatTemplateOptions options)
    {
        _source = source;
        _body = body;
        _options = options;
    }

    public string Source => _source.Source;

    /// <summary>Parses a template. Throws <see cref="ChatTemplateException"/> (Kind=Syntax, with Line/Column) on invalid syntax.</summary>
    public static ChatTemplate Parse(string source, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= ChatTemplateOptions.Default;
        var text = new SourceText(source);
        return new ChatTemplate(text, Parser.Parse(text, options.MaxNestingDepth), options);
    }

    /// <summary>
    /// Reads <c>chat_template</c> from a tokenizer_config.json: either a string, or a list of
    /// {name, template} objects (the one named "default" is used). Returns null when there is none.
    /// </summary>
    public static ChatTemplate? FromTokenizerConfig(string jsonPath, ChatTemplateOptions? options = null)
    {
        var source = ReadTemplateSource(File.ReadAllText(jsonPath));
        return source is null ? null : Parse(source, options);
    }

    /// <summary>The template text from tokenizer_config.json content, or null when absent.</summary>
    public static string? ReadTemplateSource(string tokenizerConfigJson)
    {
        using var doc = JsonDocument.Parse(tokenizerConfigJson);
        if (!doc.RootElement.TryGetProperty("chat_template", out var t)) return null;
        switch (t.ValueKind)
        {
            case JsonValueKind.String:
                return t.GetString();
            case JsonValueKind.Array:
                foreach (var entry in t.EnumerateArray())
                {
                    if (entry.ValueKind == JsonValueKind.Object
                        && entry.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() == "default"
                        && entry.TryGetProperty("template", out var template) && template.ValueKind == JsonValueKind.String)
                    {
                        return template.GetString();
                    }
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Renders the prompt. Variables: messages, add_generation_prompt, bos_token/eos_token (left undefined when null),
    /// plus <paramref name="extra"/> (e.g. tools, date_string, custom flags), which may override them.
    /// Extra values may be null, bool, numbers, strings, JsonElement/JsonNode, dictionaries, lists, ChatMessage.
    /// Throws <see cref="ChatTemplateException"/>: Kind=Raised when the template calls raise_exception,
    /// LimitExceeded when a safety cap is hit, Runtime for other evaluation errors.
    /// </summary>
    public string Render(
        IReadOnlyList<ChatMessage> messages,
        bool addGenerationPrompt,
        string? bosToken,
        string? eosToken,
        IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var globals = new Scope(null);
        Globals.Install(globals);
        var scope = new Scope(globals);
        scope.Set("messages", new ArrayValue(messages.Select(ValueConverter.FromMessage).ToList()));
        scope.Set("add_generation_prompt", BoolValue.Of(addGenerationPrompt));
        if (bosToken is not null) scope.Set("bos_token", new StringValue(bosToken));
        if (eosToken is not null) scope.Set("eos_token", new StringValue(eosToken));
        if (extra is not null)
        {
            foreach (var (name, value) in extra) scope.Set(name, ValueConverter.FromObject(value));
        }
        return new Interpreter(_source, _options).Run(_body, scope);
    }
}
