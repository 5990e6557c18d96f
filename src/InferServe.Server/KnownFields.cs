using System.Text.Json;

namespace InferServe.Server;

/// <summary>
/// The request fields this server understands, per endpoint. Anything else is a 400 naming the field: a client that relies
/// on a field we would drop gets told, instead of a silently different result. A few fields are accepted and ignored on
/// purpose (<see cref="Ignored"/>): they only matter to OpenAI's own bookkeeping, and popular clients send them.
/// </summary>
internal static class KnownFields
{
    /// <summary>Accepted and ignored on purpose (documented in docs/http-api.md).</summary>
    public static readonly HashSet<string> Ignored = ["user", "metadata", "safety_identifier", "prompt_cache_key"];

    private static readonly HashSet<string> Common =
    [
        "model", "max_tokens", "n", "stream", "stream_options", "temperature", "top_p", "top_k", "min_p", "repetition_penalty",
        "presence_penalty", "frequency_penalty", "seed", "stop", "stop_token_ids", "ignore_eos", "priority", "logit_bias",
        "min_tokens", "include_stop_str_in_output", "skip_special_tokens", "logprobs", "cache_salt", "allowed_token_ids",
        // Structured outputs (StructuredOutputFields).
        "response_format", "guided_json", "guided_regex", "guided_grammar", "guided_choice", "structured_outputs",
    ];

    private static readonly HashSet<string> CompletionsOnly = ["prompt", "echo"];

    private static readonly HashSet<string> ChatOnly =
    [
        "messages", "max_completion_tokens", "top_logprobs", "tools", "tool_choice", "parallel_tool_calls",
        "chat_template_kwargs", "continue_final_message", "add_generation_prompt",
    ];

    /// <summary>Throws a 400 naming the first field of <paramref name="root"/> that this endpoint does not know.</summary>
    public static void RejectUnknown(JsonElement root, ApiKind kind)
    {
        var own = kind == ApiKind.Chat ? ChatOnly : CompletionsOnly;
        foreach (var p in root.EnumerateObject())
        {
            if (Common.Contains(p.Name) || own.Contains(p.Name) || Ignored.Contains(p.Name)) continue;
            var other = kind == ApiKind.Chat ? CompletionsOnly : ChatOnly;
            string hint = other.Contains(p.Name) ? $" it belongs to {(kind == ApiKind.Chat ? "/v1/completions" : "/v1/chat/completions")}" : " see docs/http-api.md for the supported fields";
            throw new ApiException(400, $"Unsupported field '{p.Name}':{hint}.", p.Name, "unsupported_field", "invalid_request_error");
        }
    }
}
