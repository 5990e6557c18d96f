using System.Text.Json;
using InferServe.Engine;
using InferServe.Engine.Sampling;
using InferServe.Tokenization;

namespace InferServe.Server;

internal enum ApiKind { Completions, Chat }

/// <summary>A validated /v1/completions or /v1/chat/completions request, before its prompts are bound to an engine.</summary>
internal sealed class OpenAiRequest
{
    public const int MaxStopSequences = 16;
    public const int MaxStopLength = 256;

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
    public int Priority { get; init; }
    public string? User { get; init; }
    /// <summary>Completions: the raw "prompt" element; chat: default.</summary>
    public JsonElement Prompt { get; init; }

    public static OpenAiRequest Parse(JsonElement root, ApiKind kind)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("The request body must be a JSON object.");
        var f = new RequestFields(root);
        var model = f.String("model");
        int? maxTokens = f.Int("max_tokens", 1);
        if (kind == ApiKind.Chat) maxTokens = f.Int("max_completion_tokens", 1) ?? maxTokens;
        int n = f.Int("n", 1, 128) ?? 1;
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
            int? top = f.Int("top_logprobs", 0, 20);
            if (top is not null && !lp) throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
            logprobs = lp ? top ?? 0 : null;
        }
        else logprobs = f.Int("logprobs", 0, 20);
        bool echo = kind == ApiKind.Completions && (f.Bool("echo") ?? false);
        if (echo && logprobs is not null) throw ApiException.BadRequest("'echo' together with 'logprobs' (prompt logprobs) is not supported.", "echo");

        var sampling = new SamplingParams
        {
            Temperature = (float)(f.Number("temperature", 0, 2) ?? 1),
            TopP = (float)(f.Number("top_p", 0, 1, minExclusive: true) ?? 1),
            TopK = f.Int("top_k", -1) ?? 0,
            MinP = (float)(f.Number("min_p", 0, 1) ?? 0),
            RepetitionPenalty = (float)(f.Number("repetition_penalty", 0, 2, minExclusive: true) ?? 1),
            PresencePenalty = (float)(f.Number("presence_penalty", -2, 2) ?? 0),
            FrequencyPenalty = (float)(f.Number("frequency_penalty", -2, 2) ?? 0),
            Seed = f.Long("seed") is long seed ? unchecked((ulong)seed) : null,
        };
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
            Priority = f.Int("priority") ?? 0,
            User = f.String("user"),
            Prompt = f.TryGet("prompt", out var p) ? p : default,
        };
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
        if (list.Count > MaxStopSequences) throw ApiException.BadRequest($"'stop' accepts at most {MaxStopSequences} sequences, got {list.Count}.", "stop");
        foreach (var s in list)
            if (s.Length == 0 || s.Length > MaxStopLength) throw ApiException.BadRequest($"Each stop sequence must be 1 to {MaxStopLength} characters long.", "stop");
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
