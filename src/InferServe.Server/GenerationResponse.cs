using System.Text;
using System.Text.Json;
using InferServe.Contracts;
using InferServe.Server.Tools;
using InferServe.Tokenization;

namespace InferServe.Server;

/// <summary>What one choice has produced so far.</summary>
internal sealed class GenerationChoice
{
    public readonly StringBuilder Text = new();
    public readonly List<TokenLogprob> Logprobs = [];
    public string? Finish;
    /// <summary>Completions logprobs: where the next token starts in the choice's text (after an echoed prompt).</summary>
    public int TextOffset;
    /// <summary>Completions echo + logprobs: the prompt's logprobs (first entry NaN), once they arrived.</summary>
    public IReadOnlyList<TokenLogprob>? PromptLogprobs;
    /// <summary>Chat with tools: separates tool calls from content; null when calls are not parsed.</summary>
    public ToolCallExtractor? Tools;

    /// <summary>Routes a text delta through the tool-call extractor (when there is one); returns the content part.</summary>
    public string Content(string delta, bool final, List<ParsedToolCall> newCalls)
    {
        if (Tools is null) return delta;
        var content = Tools.Push(delta, newCalls);
        return final ? content + Tools.Finish(newCalls) : content;
    }

    /// <summary>The OpenAI finish reason: "tool_calls" once the choice produced a call and ended normally.</summary>
    public string? FinishReason => Tools is { Calls.Count: > 0 } && Finish is "stop" or "length" ? "tool_calls" : Finish;
}

/// <summary>
/// The state of one completions / chat response, shared by the JSON and SSE writers: its choices (prompt-major,
/// n per prompt), usage per prompt, and the fields every response object starts with.
/// </summary>
internal sealed class GenerationResponse
{
    public OpenAiRequest Request { get; }
    public string Id { get; }
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public string Model { get; }
    public IReadOnlyList<(int[] Ids, string Text)> Prompts { get; }
    public GenerationChoice[] Choices { get; }
    public GenerationUsage[] Usage { get; }
    public LogprobsWriter Logprobs { get; }

    public GenerationResponse(OpenAiRequest request, string id, string model, IReadOnlyList<(int[] Ids, string Text)> prompts, ITokenizer tokenizer,
        ToolCallParser? toolParser = null)
    {
        Request = request;
        Id = id;
        Model = model;
        Prompts = prompts;
        Logprobs = new LogprobsWriter(tokenizer, request.Logprobs);
        Usage = new GenerationUsage[prompts.Count];
        for (int i = 0; i < Usage.Length; i++) Usage[i] = new GenerationUsage(prompts[i].Ids.Length, 0, 0);
        Choices = new GenerationChoice[prompts.Count * request.N];
        bool parseTools = toolParser is not null && request.Tools is { ParsesCalls: true };
        for (int i = 0; i < Choices.Length; i++)
        {
            Choices[i] = new GenerationChoice
            {
                // With prompt logprobs the prompt's own tokens come first in the offsets.
                TextOffset = request.Echo && request.Logprobs is null ? PromptText(i).Length : 0,
                Tools = parseTools ? new ToolCallExtractor(toolParser!, request.Tools!.Parallel) : null,
            };
        }
    }

    public bool IsChat => Request.Kind == ApiKind.Chat;

    /// <summary>Index into <see cref="Choices"/> of an event's choice.</summary>
    public int ChoiceIndex(int prompt, GenerationEvent e) => prompt * Request.N + e.Index;

    /// <summary>The prompt a choice continues (completions echo it).</summary>
    public string PromptText(int choice) => Prompts[choice / Request.N].Text;

    public GenerationUsage TotalUsage() =>
        new(Usage.Sum(u => u.PromptTokens), Usage.Sum(u => u.CompletionTokens), Usage.Sum(u => u.CachedTokens));

    /// <summary>id, object, created and model: the head of every response and chunk.</summary>
    public void WriteHeader(Utf8JsonWriter w, string objectName)
    {
        w.WriteString("id", Id);
        w.WriteString("object", objectName);
        w.WriteNumber("created", Created);
        w.WriteString("model", Model);
    }

    public void WriteUsage(Utf8JsonWriter w)
    {
        var u = TotalUsage();
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.PromptTokens);
        w.WriteNumber("completion_tokens", u.CompletionTokens);
        w.WriteNumber("total_tokens", u.PromptTokens + u.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", u.CachedTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A complete call as in a chat.completion message: {id, type, function: {name, arguments}}.</summary>
    public static void WriteToolCall(Utf8JsonWriter w, ParsedToolCall call)
    {
        w.WriteStartObject();
        w.WriteString("id", call.Id);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", call.Name);
        w.WriteString("arguments", call.Arguments);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The error text when the engine itself failed (a worker that failed names itself instead).</summary>
    public const string EngineFailed = "The engine failed while generating this request.";

    public static string FinishName(FinishReason f) => f switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Abort => "abort",
        _ => "error",
    };
}
