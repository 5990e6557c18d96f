using System.Text.Json;
using InferServe.Contracts;
using InferServe.Server.Tools;
using InferServe.Tokenization;

namespace InferServe.Server;

internal enum ApiKind { Completions, Chat }

/// <summary>
/// A /v1/completions or /v1/chat/completions request with its types and shapes checked, before its prompts are bound to an
/// engine. Ranges are the engine's <see cref="RequestValidator"/>'s, the same for HTTP and gRPC.
/// </summary>
internal sealed class OpenAiRequest
{

    public required ApiKind Kind { get; init; }
    public string? Model { get; init; }
    /// <summary>null: the endpoint's default, which depends on the prompt (<see cref="ForPrompt"/>).</summary>
    public int? MaxTokens { get; init; }
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    public bool Echo { get; init; }
    /// <summary>
    /// Everything the engine needs, as the shared description every protocol maps to; its prompt is bound per prompt
    /// (<see cref="ForPrompt"/>). Ranges are judged once, by <see cref="RequestValidator"/>.
    /// </summary>
    public required GenerationRequest Generation { get; init; }
    public int N => Generation.N;
    /// <summary>Top alternatives per token, or null for no logprobs.</summary>
    public int? Logprobs => Generation.Logprobs;
    /// <summary>Chat: tools, tool_choice and parallel_tool_calls; null without tools.</summary>
    public ToolRequest? Tools { get; init; }
    /// <summary>Chat: how the messages are rendered (tools, add_generation_prompt, continue_final_message, chat_template_kwargs).</summary>
    public ChatRenderOptions Render { get; init; } = new();
    public string? User { get; init; }
    /// <summary>Completions: the raw "prompt" element; chat: default.</summary>
    public JsonElement Prompt { get; init; }

    public static OpenAiRequest Parse(JsonElement root, ApiKind kind)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("The request body must be a JSON object.");
        KnownFields.RejectUnknown(root, kind);
        var f = new RequestFields(root);
        var model = f.String("model");
        int? maxTokens = f.Int("max_tokens");
        if (kind == ApiKind.Chat) maxTokens = f.Int("max_completion_tokens") ?? maxTokens;
        bool stream = f.Bool("stream") ?? false;
        bool includeUsage = false;
        if (f.TryGet("stream_options", out var so))
        {
            if (so.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("stream_options", "an object");
            if (!stream) throw ApiException.BadRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options");
            includeUsage = new RequestFields(so).Bool("include_usage") ?? false;
        }
        var tools = kind == ApiKind.Chat ? ToolRequest.Parse(f) : null;
        if (kind == ApiKind.Completions && !f.TryGet("prompt", out _))
            throw new ApiException(400, "'prompt' is required.", "prompt", "missing_required_parameter", "invalid_request_error");
        return new OpenAiRequest
        {
            Kind = kind,
            Model = model,
            MaxTokens = maxTokens,
            Stream = stream,
            IncludeUsage = includeUsage,
            Echo = kind == ApiKind.Completions && (f.Bool("echo") ?? false),
            Generation = HttpRequestMapping.ToGeneration(f, kind),
            Tools = tools,
            Render = kind == ApiKind.Chat ? ParseRender(f, tools) : new ChatRenderOptions(),
            User = f.String("user"),
            Prompt = f.TryGet("prompt", out var p) ? p : default,
        };
    }

    /// <summary>
    /// The description bound to one prompt. Without max_tokens, chat fills the remaining context (vLLM) and completions
    /// take 16 like OpenAI, clamped to what the KV pool can hold.
    /// </summary>
    public GenerationRequest ForPrompt(string requestId, int[] ids, ModelFacts facts) => Generation with
    {
        RequestId = requestId,
        PromptTokens = ids,
        MaxTokens = MaxTokens ?? Math.Max(Generation.MinTokens, DefaultMaxTokens(facts, ids.Length)),
    };

    private int DefaultMaxTokens(ModelFacts facts, int promptLength)
    {
        int room = Math.Min(facts.MaxContext, facts.KvCapacityTokens) - promptLength;
        return Math.Max(1, Kind == ApiKind.Chat ? room : Math.Min(16, room));
    }

    private static ChatRenderOptions ParseRender(RequestFields f, ToolRequest? tools)
    {
        bool addGenerationPrompt = f.Bool("add_generation_prompt") ?? true;
        bool continueFinal = f.Bool("continue_final_message") ?? false;
        if (continueFinal && addGenerationPrompt)
            throw ApiException.BadRequest("'continue_final_message' needs 'add_generation_prompt': false (the reply continues the last message instead of starting a new one).", "continue_final_message");
        Dictionary<string, JsonElement>? kwargs = null;
        if (f.TryGet("chat_template_kwargs", out var kw))
        {
            if (kw.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("chat_template_kwargs", "an object");
            kwargs = [];
            foreach (var p in kw.EnumerateObject())
            {
                if (p.Name is "messages")
                    throw ApiException.BadRequest("'chat_template_kwargs' must not set 'messages'.", "chat_template_kwargs");
                kwargs[p.Name] = p.Value.Clone();
            }
        }
        return new ChatRenderOptions { Tools = tools?.Tools, AddGenerationPrompt = addGenerationPrompt, ContinueFinalMessage = continueFinal, Kwargs = kwargs };
    }

    /// <summary>Completions prompts: a string, strings, token ids, or arrays of token ids. Returns (ids, text) per prompt.</summary>
    public List<(int[] Ids, string Text)> EncodeCompletionPrompts(ITokenizer tokenizer)
    {
        var result = new List<(int[], string)>();
        var p = Prompt;
        const int MaxPrompts = 64;
        switch (p.ValueKind)
        {
            case JsonValueKind.String:
                result.Add(EncodeText(tokenizer, RequestFields.Text(p, "prompt")));
                break;
            case JsonValueKind.Array:
                if (p.GetArrayLength() == 0) throw ApiException.BadRequest("'prompt' must not be empty.", "prompt");
                var first = p[0].ValueKind;
                if (first == JsonValueKind.Number)
                {
                    result.Add(Ids(tokenizer, p));
                }
                else
                {
                    if (p.GetArrayLength() > MaxPrompts) throw ApiException.BadRequest($"At most {MaxPrompts} prompts per request.", "prompt");
                    foreach (var e in p.EnumerateArray())
                    {
                        if (e.ValueKind == JsonValueKind.String) result.Add(EncodeText(tokenizer, RequestFields.Text(e, "prompt")));
                        else if (e.ValueKind == JsonValueKind.Array) result.Add(Ids(tokenizer, e));
                        else throw RequestFields.TypeError("prompt", "a string, an array of strings, an array of token ids or an array of token-id arrays");
                    }
                }
                break;
            default:
                throw RequestFields.TypeError("prompt", "a string, an array of strings, an array of token ids or an array of token-id arrays");
        }
        return result;
    }

    private static (int[], string) EncodeText(ITokenizer tokenizer, string text)
    {
        if (text.Length == 0) throw ApiException.BadRequest("'prompt' must not be empty.", "prompt");
        return (tokenizer.Encode(text, addSpecialTokens: true), text);
    }

    private static (int[], string) Ids(ITokenizer tokenizer, JsonElement array)
    {
        var ids = new int[array.GetArrayLength()];
        if (ids.Length == 0) throw ApiException.BadRequest("'prompt' must not be empty.", "prompt");
        int i = 0;
        foreach (var e in array.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id))
                throw RequestFields.TypeError("prompt", "an array of integer token ids");
            if ((uint)id >= (uint)tokenizer.VocabSize)
                throw ApiException.BadRequest($"Token id {id} is outside the vocabulary (size {tokenizer.VocabSize}).", "prompt");
            ids[i++] = id;
        }
        return (ids, tokenizer.Decode(ids, skipSpecialTokens: false));
    }
}
