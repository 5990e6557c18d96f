using Grpc.Core;
using InferServe.Api.Grpc.V1;
using InferServe.Contracts;
using InferServe.Grammar;

namespace InferServe.Api.Grpc;

/// <summary>Proto request to engine request (with the checks the engine cannot make), engine events to proto.</summary>
internal static class RequestMapping
{
    public const int DefaultMaxTokens = 16;

    /// <summary>
    /// Builds the engine request, throwing INVALID_ARGUMENT for what only the API layer can judge (missing or
    /// empty prompt, unknown enum values). Ranges (max_tokens, temperature, ...) are checked by the engine.
    /// </summary>
    public static GenerationRequest ToEngineRequest(GenerateRequest request, IGenerationService engine)
    {
        if (!Enum.IsDefined(request.UsageReporting))
        {
            throw Invalid($"usage_reporting has an unknown value ({(int)request.UsageReporting}).");
        }

        IReadOnlyList<int> prompt = request.PromptCase switch
        {
            GenerateRequest.PromptOneofCase.Text when request.Text.Length > 0 =>
                engine.Tokenizer.Encode(request.Text, !request.HasAddSpecialTokens || request.AddSpecialTokens),
            GenerateRequest.PromptOneofCase.TokenIds when request.TokenIds.Ids.Count > 0 => [.. request.TokenIds.Ids],
            GenerateRequest.PromptOneofCase.None => throw Invalid("A prompt is required: set text or token_ids."),
            _ => throw Invalid("The prompt must not be empty."),
        };

        return new GenerationRequest
        {
            RequestId = request.RequestId.Length > 0 ? request.RequestId : "grpc-" + Guid.NewGuid().ToString("N"),
            PromptTokens = prompt,
            MaxTokens = request.HasMaxTokens ? request.MaxTokens : DefaultMaxTokens,
            N = request.HasN ? request.N : 1,
            StopStrings = [.. request.Stop],
            StopTokenIds = [.. request.StopTokenIds],
            IgnoreEos = request.IgnoreEos,
            MinTokens = request.MinTokens,
            IncludeStopStringInOutput = request.IncludeStopStrInOutput,
            SkipSpecialTokens = !request.HasSkipSpecialTokens || request.SkipSpecialTokens,
            Logprobs = request.HasLogprobs ? request.Logprobs : null,
            PromptLogprobs = request.HasPromptLogprobs ? request.PromptLogprobs : null,
            Priority = request.Priority,
            CacheSalt = request.CacheSalt.Length > 0 ? request.CacheSalt : null,
            Grammar = ToGrammar(request.StructuredOutput),
            Sampling = new SamplingParams
            {
                Temperature = request.HasTemperature ? request.Temperature : 1f,
                TopP = request.HasTopP ? request.TopP : 1f,
                TopK = request.HasTopK ? request.TopK : 0,
                MinP = request.HasMinP ? request.MinP : 0f,
                RepetitionPenalty = request.HasRepetitionPenalty ? request.RepetitionPenalty : 1f,
                PresencePenalty = request.HasPresencePenalty ? request.PresencePenalty : 0f,
                FrequencyPenalty = request.HasFrequencyPenalty ? request.FrequencyPenalty : 0f,
                Seed = request.HasSeed ? request.Seed : null,
                LogitBias = request.LogitBias.Count > 0 ? request.LogitBias.ToDictionary(kv => kv.Key, kv => kv.Value) : null,
                AllowedTokenIds = request.AllowedTokenIds.Count > 0 ? [.. request.AllowedTokenIds] : null,
            },
        };
    }

    private static GrammarSpec? ToGrammar(StructuredOutput? s) => s?.KindCase switch
    {
        null or StructuredOutput.KindOneofCase.None => null,
        StructuredOutput.KindOneofCase.JsonSchema => new(GrammarKind.JsonSchema, s.JsonSchema, "structured_output.json_schema"),
        StructuredOutput.KindOneofCase.JsonObject => s.JsonObject ? new(GrammarKind.JsonObject, "", "structured_output.json_object") : null,
        StructuredOutput.KindOneofCase.Regex => new(GrammarKind.Regex, s.Regex, "structured_output.regex"),
        _ => new(GrammarKind.Gbnf, s.Grammar, "structured_output.grammar"),
    };

    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static V1.FinishReason ToProto(Contracts.FinishReason? reason) => reason switch
    {
        null => V1.FinishReason.Unspecified,
        Contracts.FinishReason.Stop => V1.FinishReason.Stop,
        Contracts.FinishReason.Length => V1.FinishReason.Length,
        Contracts.FinishReason.Abort => V1.FinishReason.Abort,
        _ => V1.FinishReason.Error,
    };

    public static Usage ToProto(GenerationUsage usage) => new()
    {
        PromptTokens = usage.PromptTokens,
        CompletionTokens = usage.CompletionTokens,
        TotalTokens = usage.PromptTokens + usage.CompletionTokens,
        CachedTokens = usage.CachedTokens,
    };

    public static void AddLogprobs(Google.Protobuf.Collections.RepeatedField<V1.TokenLogprob> target, IReadOnlyList<Contracts.TokenLogprob>? source)
    {
        if (source is null)
        {
            return;
        }

        foreach (var lp in source)
        {
            var item = new V1.TokenLogprob { TokenId = lp.TokenId, Logprob = lp.Logprob };
            foreach (var alt in lp.Top)
            {
                item.Top.Add(new TopLogprob { TokenId = alt.TokenId, Logprob = alt.Logprob });
            }

            target.Add(item);
        }
    }
}
