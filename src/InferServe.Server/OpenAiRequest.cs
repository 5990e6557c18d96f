using System.Text.Json;
using InferServe.Engine;
using InferServe.Engine.Sampling;
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
    public int? MaxTokens { get; init; }
    public int N { get; init; } = 1;
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    public bool Echo { get; init; }
    /// <summary>Top alternatives per token, or null for no logprobs.</summary>
    public int? Logprobs { get; init; }
    public required SamplingParams Sampling { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public bool IgnoreEos { get; init; }
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    public int MinTokens { get; init; }
    public bool IncludeStopStringInOutput { get; init; }
    public bool SkipSpecialTokens { get; init; } = true;
    /// <summary>Chat: tools, tool_choice and parallel_tool_calls; null without tools.</summary>
    public ToolRequest? Tools { get; init; }
    /// <summary>Chat: how the messages are rendered (tools, add_generation_prompt, continue_final_message, chat_template_kwargs).</summary>
    public ChatRenderOptions Render { get; init; } = new();
    public int Priority { get; init; }
    public string? User { get; init; }
    /// <summary>Completions: the raw "prompt" element; chat: default.</summary>
    public JsonElement Prompt { get; init; }
    /// <summary>response_format or vLLM's guided_* / structured_outputs: the grammar the output must follow.</summary>
    public InferServe.Grammar.GrammarSpec? Grammar { get; init; }

    public static OpenAiRequest Parse(JsonElement root, ApiKind kind)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("The request body must be a JSON object.");
        KnownFields.RejectUnknown(root, kind);
        var f = new RequestFields(root);
        var model = f.String("model");
        int? maxTokens = f.Int("max_tokens");
        if (kind == ApiKind.Chat) maxTokens = f.Int("max_completion_tokens") ?? maxTokens;
        int n = f.Int("n") ?? 1;
        bool stream = f.Bool("stream") ?? false;
        bool includeUsage = false;
        if (f.TryGet("stream_options", out var so))
        {
            if (so.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("stream_options", "an object");
            if (!stream) throw ApiException.BadRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options");
            includeUsage = new RequestFields(so).Bool("include_usage") ?? false;
        }
        int? logprobs;
        if (kind == ApiKind.Chat)
        {
            bool lp = f.Bool("logprobs") ?? false;
            // Checked here, not by the engine, so the error names the chat field.
            int? top = f.Int("top_logprobs", 0, RequestLimits.MaxLogprobs);
            if (top is not null && !lp) throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
            logprobs = lp ? top ?? 0 : null;
        }
        else logprobs = f.Int("logprobs");
        bool echo = kind == ApiKind.Completions && (f.Bool("echo") ?? false);

        var sampling = new SamplingParams
        {
            Temperature = (float)(f.Number("temperature") ?? 1),
            TopP = (float)(f.Number("top_p") ?? 1),
            TopK = f.Int("top_k") ?? 0,
            MinP = (float)(f.Number("min_p") ?? 0),
            RepetitionPenalty = (float)(f.Number("repetition_penalty") ?? 1),
            PresencePenalty = (float)(f.Number("presence_penalty") ?? 0),
            FrequencyPenalty = (float)(f.Number("frequency_penalty") ?? 0),
            Seed = f.Long("seed") is long seed ? unchecked((ulong)seed) : null,
            LogitBias = ParseLogitBias(f),
        };
        var tools = kind == ApiKind.Chat ? ToolRequest.Parse(f) : null;
        if (kind == ApiKind.Completions && !f.TryGet("prompt", out _))
            throw new ApiException(400, "'prompt' is required.", "prompt", "missing_required_parameter", "invalid_request_error");
        return new OpenAiRequest
        {
            Kind = kind,
            Model = model,
            MaxTokens = maxTokens,
            N = n,
            Stream = stream,
            IncludeUsage = includeUsage,
            Echo = echo,
            Logprobs = logprobs,
            Sampling = sampling,
            Stop = ParseStop(f),
            IgnoreEos = f.Bool("ignore_eos") ?? false,
            StopTokenIds = ParseTokenIds(f, "stop_token_ids"),
            MinTokens = f.Int("min_tokens", 0) ?? 0,
            IncludeStopStringInOutput = f.Bool("include_stop_str_in_output") ?? false,
            SkipSpecialTokens = f.Bool("skip_special_tokens") ?? true,
            Tools = tools,
            Render = kind == ApiKind.Chat ? ParseRender(f, tools) : new ChatRenderOptions(),
            Priority = f.Int("priority") ?? 0,
            User = f.String("user"),
            Prompt = f.TryGet("prompt", out var p) ? p : default,
            Grammar = StructuredOutputFields.Parse(f),
        };
    }

    private static Dictionary<int, float>? ParseLogitBias(RequestFields f)
    {
        if (!f.TryGet("logit_bias", out var bias)) return null;
        if (bias.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("logit_bias", "an object mapping token ids to biases");
        var map = new Dictionary<int, float>();
        foreach (var p in bias.EnumerateObject())
        {
            if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                throw ApiException.BadRequest($"'logit_bias' keys must be token ids, got '{p.Name}'.", "logit_bias");
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetDouble(out double b))
                throw RequestFields.TypeError("logit_bias", "an object whose values are numbers");
            map[id] = (float)b;
        }
        return map.Count > 0 ? map : null;
    }

    private static int[] ParseTokenIds(RequestFields f, string name)
    {
        if (!f.TryGet(name, out var ids)) return [];
        if (ids.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError(name, "an array of token ids");
        var list = new int[ids.GetArrayLength()];
        int i = 0;
        foreach (var e in ids.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id)) throw RequestFields.TypeError(name, "an array of integer token ids");
            list[i++] = id;
        }
        return list;
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

    private static List<string> ParseStop(RequestFields f)
    {
        if (!f.TryGet("stop", out var stop)) return [];
        var list = new List<string>();
        if (stop.ValueKind == JsonValueKind.String) list.Add(RequestFields.Text(stop, "stop"));
        else if (stop.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in stop.EnumerateArray())
            {
                if (s.ValueKind != JsonValueKind.String) throw RequestFields.TypeError("stop", "a string or an array of strings");
                list.Add(RequestFields.Text(s, "stop"));
            }
        }
        else throw RequestFields.TypeError("stop", "a string or an array of strings");
        return list;
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
                if (first == JsonValueKind.Number) result.Add(Ids(tokenizer, p));
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
