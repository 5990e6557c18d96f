using System.Text.Json;
using InferServe.Contracts;

namespace InferServe.Server;

/// <summary>
/// The HTTP mapper: an OpenAI/vLLM request body to the shared <see cref="GenerationRequest"/> (its prompt bound later).
/// Checks types and shapes only; ranges are <see cref="RequestValidator"/>'s, the same for every protocol. A new
/// request field is one line here (and its name in <see cref="KnownFields"/>).
/// </summary>
internal static class HttpRequestMapping
{
    public static GenerationRequest ToGeneration(RequestFields f, ApiKind kind)
    {
        int? logprobs;
        if (kind == ApiKind.Chat)
        {
            bool lp = f.Bool("logprobs") ?? false;
            // Checked here, not by the validator, so the error names the chat field.
            int? top = f.Int("top_logprobs", 0, RequestLimits.MaxLogprobs);
            if (top is not null && !lp) throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
            logprobs = lp ? top ?? 0 : null;
        }
        else
        {
            logprobs = f.Int("logprobs");
        }

        bool echo = kind == ApiKind.Completions && (f.Bool("echo") ?? false);
        return new GenerationRequest
        {
            PromptTokens = [],
            N = f.Int("n") ?? 1,
            StopStrings = ParseStop(f),
            StopTokenIds = ParseTokenIds(f, "stop_token_ids"),
            IgnoreEos = f.Bool("ignore_eos") ?? false,
            MinTokens = f.Int("min_tokens", 0) ?? 0,
            IncludeStopStringInOutput = f.Bool("include_stop_str_in_output") ?? false,
            SkipSpecialTokens = f.Bool("skip_special_tokens") ?? true,
            Logprobs = logprobs,
            // echo with logprobs covers the prompt's tokens too.
            PromptLogprobs = echo ? logprobs : null,
            Priority = f.Int("priority") ?? 0,
            CacheSalt = f.String("cache_salt") is { Length: > 0 } salt ? salt : null,
            Grammar = StructuredOutputFields.Parse(f),
            Sampling = new SamplingParams
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
                AllowedTokenIds = f.TryGet("allowed_token_ids", out _) ? ParseTokenIds(f, "allowed_token_ids") : null,
            },
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

    private static List<string> ParseStop(RequestFields f)
    {
        if (!f.TryGet("stop", out var stop)) return [];
        var list = new List<string>();
        if (stop.ValueKind == JsonValueKind.String)
        {
            list.Add(RequestFields.Text(stop, "stop"));
        }
        else if (stop.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in stop.EnumerateArray())
            {
                if (s.ValueKind != JsonValueKind.String) throw RequestFields.TypeError("stop", "a string or an array of strings");
                list.Add(RequestFields.Text(s, "stop"));
            }
        }
        else
        {
            throw RequestFields.TypeError("stop", "a string or an array of strings");
        }

        return list;
    }
}
