using InferServe.Api.Grpc.V1;
using InferServe.TestSupport;

namespace InferServe.Api.Grpc.Tests;

/// <summary>The public proto maps to the shared request description with every field; reflection finds a field left out.</summary>
public sealed class RequestMappingTests
{
    [Fact(Timeout = 120_000)]
    public void A_proto_request_with_every_field_set_leaves_no_description_field_at_its_default()
    {
        var request = new GenerateRequest
        {
            RequestId = "grpc-every-field", TokenIds = new TokenIds { Ids = { 1, 2, 3 } }, MaxTokens = 9, N = 2, Temperature = 0.5f, TopP = 0.9f,
            TopK = 5, MinP = 0.1f, RepetitionPenalty = 1.1f, PresencePenalty = 0.5f, FrequencyPenalty = 0.25f, Seed = 7, Stop = { "END" },
            StopTokenIds = { 3 }, IgnoreEos = true, MinTokens = 2, IncludeStopStrInOutput = true, SkipSpecialTokens = false, Logprobs = 3,
            PromptLogprobs = 3, Priority = 4, CacheSalt = "tenant-a", LogitBias = { [5] = 1.5f }, AllowedTokenIds = { 1, 5, 9 },
            StructuredOutput = new StructuredOutput { JsonObject = true },
        };
        var description = RequestMapping.ToEngineRequest(request, TestEngine.Engine.Service);
        RequestDescriptions.AssertEveryFieldSet(description);
    }
}
