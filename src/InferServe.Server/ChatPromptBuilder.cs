using System.Text;
using System.Text.Json;
using InferServe.ChatTemplates;
using InferServe.Contracts.Hosting;
using InferServe.Server.Tools;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Turns OpenAI chat messages into prompt token ids with the model's (or an override) chat template.</summary>
internal sealed class ChatPromptBuilder
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];
    private readonly ChatTemplate? _template;
    private readonly string? _bos, _eos;
    private readonly ITokenizer _tokenizer;
    private readonly ILogger _log;
    // The operator's --chat-template is the server's own: going over the sandbox is a server error (500).
    // A model's template travels with the model; its failures are reported to the client as a 400.
    private readonly bool _isOverride;
    // Why chat is refused without a template, in the model format's own terms.
    private readonly string _missingTemplate;

    public ChatPromptBuilder(LoadedModel loaded, string? templateOverride, ChatTemplateOptions options, ILogger log, string? toolCallParser = null)
    {
        _log = log;
        _tokenizer = loaded.Service.Tokenizer;
        string? configPath = loaded.ModelDirectory is { } dir ? Path.Combine(dir, "tokenizer_config.json") : null;
        if (configPath is not null && File.Exists(configPath))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
            _bos = TokenString(doc.RootElement, "bos_token");
            _eos = TokenString(doc.RootElement, "eos_token");
        }
        _bos ??= _tokenizer.BosTokenId is int b ? _tokenizer.IdToToken(b) : null;
        _eos ??= _tokenizer.EosTokenIds.Count > 0 ? _tokenizer.IdToToken(_tokenizer.EosTokenIds[0]) : null;
        if (!string.IsNullOrEmpty(templateOverride))
        {
            var source = File.Exists(templateOverride) ? File.ReadAllText(templateOverride) : templateOverride;
            _template = ChatTemplate.Parse(source, options);
            _isOverride = true;
        }
        else if (configPath is not null && File.Exists(configPath))
        {
            _template = ChatTemplate.FromTokenizerConfig(configPath, options);
        }
        else if (_tokenizer is IChatTemplateSource { ChatTemplate: { Length: > 0 } embedded })
        {
            _template = ChatTemplate.Parse(embedded, options); // GGUF: tokenizer.chat_template
        }

        ToolParser = ToolCallParsers.Resolve(toolCallParser, _template?.Source);
        _missingTemplate = "This model has no chat template (" + (loaded.ModelDirectory is not null ? "its tokenizer_config.json has no chat_template"
            : loaded.ModelPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? "its GGUF file has no tokenizer.chat_template"
            : "a llama2.c checkpoint carries none; put a chat_template.jinja beside the .bin file") + "); use /v1/completions or start the server with --chat-template.";
    }

    public bool HasTemplate => _template is not null;

    /// <summary>The tool-call format of this model's output (from --tool-call-parser or recognised in the template), or null.</summary>
    public ToolCallParser? ToolParser { get; }

    private static string? TokenString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        };
    }

    public static List<ChatMessage> ParseMessages(RequestFields f)
    {
        if (!f.TryGet("messages", out var messages)) throw new ApiException(400, "'messages' is required.", "messages", "missing_required_parameter", "invalid_request_error");
        if (messages.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError("messages", "an array");
        if (messages.GetArrayLength() == 0) throw ApiException.BadRequest("'messages' must contain at least one message.", "messages");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            string p = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError(p, "an object");
            if (!m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"'{p}.role' is required and must be a string.", p + ".role");
            var r = RequestFields.Text(role, p + ".role");
            if (!Roles.Contains(r))
                throw ApiException.BadRequest($"'{p}.role' must be one of system, developer, user, assistant, tool; got '{r}'.", p + ".role");
            string? content = null;
            if (m.TryGetProperty("content", out var c))
            {
                switch (c.ValueKind)
                {
                    case JsonValueKind.String: content = RequestFields.Text(c, p + ".content"); break;
                    case JsonValueKind.Null: break;
                    case JsonValueKind.Array:
                        var sb = new StringBuilder();
                        foreach (var part in c.EnumerateArray())
                        {
                            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type)
                                || type.ValueKind != JsonValueKind.String || !type.ValueEquals("text")
                                || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                            {
                                throw ApiException.BadRequest($"'{p}.content' parts must be {{\"type\":\"text\",\"text\":...}}; this model accepts text only.", p + ".content");
                            }

                            sb.Append(RequestFields.Text(text, p + ".content"));
                        }
                        content = sb.ToString();
                        break;
                    default: throw RequestFields.TypeError(p + ".content", "a string or an array of content parts");
                }
            }
            if (content is null && r != "assistant") throw ApiException.BadRequest($"'{p}.content' is required for role '{r}'.", p + ".content");
            string? name = m.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? RequestFields.Text(n, p + ".name") : null;
            string? toolCallId = m.TryGetProperty("tool_call_id", out var t) && t.ValueKind == JsonValueKind.String ? RequestFields.Text(t, p + ".tool_call_id") : null;
            var toolCalls = r == "assistant" ? ParseToolCalls(m, p) : null;
            list.Add(new ChatMessage(r, content) { Name = name, ToolCallId = toolCallId, ToolCalls = toolCalls });
        }
        return list;
    }

    /// <summary>
    /// An assistant turn's <c>tool_calls</c>. Arguments arrive as a JSON string (OpenAI's wire form); templates such as Llama 3.x
    /// and Qwen2.5 apply tojson to them and expect a mapping, so an object string is passed on parsed.
    /// </summary>
    private static List<ChatToolCall>? ParseToolCalls(JsonElement message, string p)
    {
        if (!message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind == JsonValueKind.Null) return null;
        if (calls.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError(p + ".tool_calls", "an array");
        var list = new List<ChatToolCall>();
        int i = 0;
        foreach (var call in calls.EnumerateArray())
        {
            string cp = $"{p}.tool_calls[{i++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object
                || !fn.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
            {
                throw ApiException.BadRequest($"'{cp}' must be {{\"id\":...,\"type\":\"function\",\"function\":{{\"name\":...,\"arguments\":\"...\"}}}}.", cp);
            }

            object? arguments = null;
            if (fn.TryGetProperty("arguments", out var args))
            {
                arguments = args.ValueKind switch
                {
                    JsonValueKind.String => ParsedObjectOrString(args.GetString()!),
                    JsonValueKind.Object => args.Clone(),
                    JsonValueKind.Null => null,
                    _ => throw RequestFields.TypeError(cp + ".function.arguments", "a JSON string"),
                };
            }
            string? id = call.TryGetProperty("id", out var idv) && idv.ValueKind == JsonValueKind.String ? idv.GetString() : null;
            list.Add(new ChatToolCall(name.GetString()!, arguments, id));
        }
        return list;
    }

    private static object ParsedObjectOrString(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc.RootElement.Clone();
        }
        catch (JsonException) { }
        return json;
    }

    /// <summary>
    /// Renders and encodes, without a second BOS when the template already emits it. continue_final_message cuts the
    /// rendering right after the last message's content, so the model continues it (as transformers does).
    /// </summary>
    public int[] BuildPrompt(IReadOnlyList<ChatMessage> messages, ChatRenderOptions? options = null)
    {
        options ??= new ChatRenderOptions();
        if (_template is null)
            throw new ApiException(400, _missingTemplate, "messages", "chat_template_missing", "invalid_request_error");
        string text;
        try
        {
            text = _template.Render(messages, options.AddGenerationPrompt, _bos, _eos, options.TemplateVariables());
            if (options.ContinueFinalMessage) text = CutAfterFinalMessage(text, messages[^1]);
        }
        catch (ChatTemplateException e) when (e.Kind is ChatTemplateErrorKind.LimitExceeded)
        {
            _log.LogWarning("The chat template went over its sandbox limits: {Message}", e.Message);
            int status = _isOverride ? 500 : 400;
            throw new ApiException(status, "The chat template exceeded its sandbox limits: " + e.Message, status == 500 ? null : "messages",
                "chat_template_limit", status == 500 ? "server_error" : "invalid_request_error");
        }
        catch (ChatTemplateException e) when (e.Kind is ChatTemplateErrorKind.Raised)
        {
            throw new ApiException(400, "The chat template rejected the messages: " + e.Message, "messages", "chat_template_error", "invalid_request_error");
        }
        catch (ChatTemplateException e)
        {
            throw new ApiException(400, "The chat template failed to render: " + e.Message, "messages", "chat_template_error", "invalid_request_error");
        }
        bool templateHasBos = !string.IsNullOrEmpty(_bos) && text.StartsWith(_bos, StringComparison.Ordinal);
        var ids = _tokenizer.Encode(text, addSpecialTokens: !templateHasBos);
        if (ids.Length >= 2 && _tokenizer.BosTokenId is int bos && ids[0] == bos && ids[1] == bos) ids = ids[1..];
        return ids;
    }

    private static string CutAfterFinalMessage(string rendered, ChatMessage final)
    {
        var content = (final.Content ?? "").Trim();
        int at = content.Length == 0 ? -1 : rendered.LastIndexOf(content, StringComparison.Ordinal);
        if (at < 0)
            throw ApiException.BadRequest("'continue_final_message': the chat template did not render the final message's content, so it cannot be continued.", "continue_final_message");
        return rendered[..(at + content.Length)];
    }
}

/// <summary>How a chat request is rendered: tools, generation prompt, continuation, and extra template variables.</summary>
internal sealed record ChatRenderOptions
{
    public JsonElement? Tools { get; init; }
    public bool AddGenerationPrompt { get; init; } = true;
    public bool ContinueFinalMessage { get; init; }
    /// <summary>chat_template_kwargs: extra variables for the template (e.g. enable_thinking); they may override the defaults.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Kwargs { get; init; }

    public Dictionary<string, object?>? TemplateVariables()
    {
        if (Tools is null && Kwargs is null) return null;
        var vars = new Dictionary<string, object?>();
        if (Tools is { } tools) vars["tools"] = tools;
        if (Kwargs is not null)
            foreach (var (k, v) in Kwargs) vars[k] = v;
        return vars;
    }
}
