using System.Text.Json;
using Google.Protobuf;
using InferServe.Contracts;
using InferServe.TestSupport;
using InferServe.Transport;

namespace InferServe.Server.Tests;

/// <summary>
/// One request description for every protocol: an HTTP request with every field set reaches the engine through the
/// worker wire unchanged. Compared by reflection, so a field added to the description without its mappers fails here.
/// </summary>
public sealed class RequestRoundTripTests
{
    /// <summary>Every description field away from its default (echo + logprobs = prompt logprobs; response_format = grammar).</summary>
    private const string EveryField = """
        {
          "prompt": "hi", "max_tokens": 9, "n": 2, "temperature": 0.5, "top_p": 0.9, "top_k": 5, "min_p": 0.1,
          "repetition_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": 0.25, "seed": 7, "logit_bias": {"5": 1.5},
          "allowed_token_ids": [1, 5, 9],
          "stop": ["END"], "stop_token_ids": [3], "ignore_eos": true, "min_tokens": 2, "include_stop_str_in_output": true,
          "skip_special_tokens": false, "logprobs": 3, "echo": true, "priority": 4, "cache_salt": "tenant-a",
          "response_format": {"type": "json_object"}
        }
        """;

    private static readonly ModelFacts Facts = new("llama", VocabSize: 512, MaxContext: 256, BosTokenId: 1, EosTokenIds: [2],
        KvBlockSize: 16, KvTotalBlocks: 64, MaxSeqs: 8);

    private static GenerationRequest FromHttp(string json)
    {
        using var body = JsonDocument.Parse(json);
        return OpenAiRequest.Parse(body.RootElement, ApiKind.Completions).ForPrompt("cmpl-round-trip", [1, 2, 3], Facts);
    }

    [Fact(Timeout = 10_000)]
    public void The_http_mapper_sets_every_field_of_the_description()
    {
        var description = FromHttp(EveryField);
        RequestDescriptions.AssertEveryFieldSet(description);
        RequestValidator.Validate(description, Facts); // a valid request, judged once
    }

    [Fact(Timeout = 10_000)]
    public void Http_to_worker_wire_to_engine_keeps_every_field()
    {
        var description = FromHttp(EveryField);
        var wire = WireMapping.ToWire(description);
        var atWorker = WireMapping.FromWire(InferServe.Transport.V1.Request.Parser.ParseFrom(wire.ToByteArray()));
        RequestDescriptions.AssertSame(description, atWorker);
    }

    [Fact(Timeout = 10_000)]
    public void A_request_with_only_defaults_crosses_the_wire_unchanged_too()
    {
        var description = FromHttp("""{"prompt": "hi"}""");
        var atWorker = WireMapping.FromWire(InferServe.Transport.V1.Request.Parser.ParseFrom(WireMapping.ToWire(description).ToByteArray()));
        RequestDescriptions.AssertSame(description, atWorker);
    }
}
