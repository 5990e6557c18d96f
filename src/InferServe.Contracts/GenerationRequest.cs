using InferServe.Grammar;

namespace InferServe.Contracts;

/// <summary>One generation request as the engine sees it: token ids in, choices of token events out.</summary>
public sealed record GenerationRequest
{
    public string RequestId { get; init; } = Guid.NewGuid().ToString("N");
    public required IReadOnlyList<int> PromptTokens { get; init; }
    public SamplingParams Sampling { get; init; } = new();
    public int MaxTokens { get; init; } = 16;
    /// <summary>Number of choices; they share the prompt's KV blocks.</summary>
    public int N { get; init; } = 1;
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    public bool IgnoreEos { get; init; }
    /// <summary>EOS and stop token ids are masked, and stop strings not checked, until this many tokens were generated (vLLM).</summary>
    public int MinTokens { get; init; }
    /// <summary>Keep the matched stop string (or a stop token id's text) at the end of the output.</summary>
    public bool IncludeStopStringInOutput { get; init; }
    /// <summary>Leave special tokens (e.g. &lt;|im_end|&gt;, [TOOL_CALLS]) out of the text; on by default.</summary>
    public bool SkipSpecialTokens { get; init; } = true;
    /// <summary>Top alternatives to report per token; null reports no logprobs.</summary>
    public int? Logprobs { get; init; }
    /// <summary>
    /// Prompt logprobs (completions echo + logprobs): top alternatives per prompt token, or null. Reported once, on each
    /// choice's first event; such a request bypasses the prefix cache, since cached tokens have no logits.
    /// </summary>
    public int? PromptLogprobs { get; init; }
    /// <summary>Lower runs first (vLLM convention); ties go to the earlier arrival.</summary>
    public int Priority { get; init; }
    /// <summary>Separates prefix-cache entries between tenants that must not share KV.</summary>
    public string? CacheSalt { get; init; }
    /// <summary>Constrains the output to a grammar (JSON schema, JSON object, regex, GBNF); null leaves it free.</summary>
    public GrammarSpec? Grammar { get; init; }
}

public enum FinishReason { Stop, Length, Abort, Error }

public sealed record TokenAlternative(int TokenId, float Logprob);

public sealed record TokenLogprob(int TokenId, float Logprob, IReadOnlyList<TokenAlternative> Top);

/// <summary>A value, not an object: every token event carries one.</summary>
public readonly record struct GenerationUsage(int PromptTokens, int CompletionTokens, int CachedTokens);

/// <summary>
/// Tokens appended to one choice since the last event, their text, and a finish reason on the last one.
/// A value passed through the channels, so a streamed token costs no event object.
/// </summary>
public readonly record struct GenerationEvent(
    int Index,
    string TextDelta,
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<TokenLogprob>? Logprobs,
    FinishReason? Finish,
    GenerationUsage Usage)
{
    public bool IsFinal => Finish is not null;

    /// <summary>On a choice's first event when prompt logprobs were asked for: one entry per prompt token, the first NaN (nothing predicts it).</summary>
    public IReadOnlyList<TokenLogprob>? PromptLogprobs { get; init; }

    /// <summary>On an error finish: what failed, for the client (e.g. which worker was lost); null means the engine itself.</summary>
    public string? ErrorMessage { get; init; }
}

/// <summary>The waiting queue is full; the caller should retry later (HTTP 429).</summary>
public sealed class EngineOverloadedException(string message) : Exception(message);

/// <summary>The request can never run as given (HTTP 400).</summary>
public sealed class InvalidRequestException(string message, string? param = null) : Exception(message)
{
    public string? Param { get; } = param;
}
