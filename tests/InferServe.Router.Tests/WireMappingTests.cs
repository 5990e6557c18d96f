using System.Text.Json;
using InferServe.Contracts;
using InferServe.Grammar;
using InferServe.TestSupport;
using InferServe.Transport;
using InferServe.Transport.V1;

namespace InferServe.Router.Tests;

/// <summary>
/// A request crosses to a worker with every field a remote step obeys. The round trip sets every field of
/// <see cref="GenerationRequest"/> and <see cref="SamplingParams"/> to a value other than its default, so a field added
/// to the contract and forgotten in the wire mapping fails here by name.
/// </summary>
public sealed class WireMappingTests
{
    private static GenerationRequest EveryFieldSet() => new()
    {
        RequestId = "req-42",
        PromptTokens = [1, 15043, 29892],
        Sampling = new SamplingParams
        {
            Temperature = 0.7f, TopP = 0.9f, TopK = 40, MinP = 0.05f, RepetitionPenalty = 1.1f, PresencePenalty = 0.3f,
            FrequencyPenalty = 0.2f, Seed = 1234567890123UL, LogitBias = new Dictionary<int, float> { [13] = -100f, [29871] = 2.5f },
            AllowedTokenIds = [13, 29871, 2],
        },
        MaxTokens = 77,
        N = 3,
        StopStrings = ["\n\n", "THE END"],
        StopTokenIds = [2, 32000],
        IgnoreEos = true,
        MinTokens = 5,
        IncludeStopStringInOutput = true,
        SkipSpecialTokens = false,
        Logprobs = 4,
        PromptLogprobs = 2,
        Priority = -3,
        CacheSalt = "tenant-a",
        Grammar = new GrammarSpec(GrammarKind.JsonSchema, """{"type":"object"}""", "tools"),
    };

    [Fact]
    public void Every_request_field_survives_the_trip_to_a_worker_and_back()
    {
        var sent = EveryFieldSet();
        var received = WireMapping.FromWire(Request.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(WireMapping.ToWire(sent))));
        RequestDescriptions.AssertSame(sent, received);
    }

    [Fact]
    public void The_round_trip_test_sets_every_field_to_a_non_default_value() =>
        // Guards the test above: a new field left at its default would pass the trip unchecked.
        RequestDescriptions.AssertEveryFieldSet(EveryFieldSet());

    [Fact]
    public void A_request_without_an_id_or_sampling_gets_a_fresh_id_and_neutral_sampling()
    {
        var received = WireMapping.FromWire(new Request { MaxTokens = 4 });
        Assert.Equal(32, received.RequestId.Length);
        Assert.Equal((1f, 1f, 1f), (received.Sampling.Temperature, received.Sampling.TopP, received.Sampling.RepetitionPenalty));
        Assert.Null(received.Grammar);
        Assert.Null(received.Logprobs);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(FinishReason.Stop)]
    [InlineData(FinishReason.Length)]
    [InlineData(FinishReason.Abort)]
    [InlineData(FinishReason.Error)]
    public void Finish_reasons_survive_the_trip(FinishReason? reason) =>
        Assert.Equal(reason, WireMapping.FromWire(WireMapping.ToWire(reason)));

    [Fact]
    public void Block_hashes_cross_as_pairs_of_fixed64_in_order()
    {
        var salt = BlockHash.Salt("x");
        BlockHash[] hashes = [BlockHash.Of(salt, [1], salt), BlockHash.Of(salt, [2], salt), new BlockHash(ulong.MaxValue, 0)];
        var wire = new WorkerStatus();
        foreach (var h in hashes) WireMapping.AddHash(wire.Stored, h);
        Assert.Equal(6, wire.Stored.Count);
        Assert.Equal(hashes, WireMapping.Hashes(wire.Stored));
    }

    [Fact(Timeout = 10_000)]
    public void A_token_event_survives_the_trip_with_its_logprobs_usage_and_finish()
    {
        var sent = new GenerationEvent(2, "lo wor", [13, 1450],
            [new TokenLogprob(13, -0.25f, [new TokenAlternative(13, -0.25f), new TokenAlternative(99, -1.5f)]), new TokenLogprob(1450, -3f, [])],
            FinishReason.Length, new GenerationUsage(7, 5, 3));
        var received = WireMapping.FromWire(TokenEvent.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(WireMapping.ToWire(sent))));

        Assert.Equal(Json(sent), Json(received));
    }

    [Fact(Timeout = 10_000)]
    public void A_token_event_without_logprobs_comes_back_without_them_not_with_an_empty_list()
    {
        var sent = new GenerationEvent(0, "a", [7], null, null, new GenerationUsage(1, 1, 0));
        var received = WireMapping.FromWire(TokenEvent.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(WireMapping.ToWire(sent))));

        Assert.Null(received.Logprobs);
        Assert.Null(received.Finish);
        Assert.Equal(Json(sent), Json(received));
    }

    [Fact(Timeout = 10_000)]
    public void The_gateways_own_usage_count_replaces_the_workers()
    {
        var wire = WireMapping.ToWire(new GenerationEvent(0, "a", [7], null, FinishReason.Stop, new GenerationUsage(1, 1, 0)));
        var usage = new GenerationUsage(40, 12, 32);
        Assert.Equal(usage, WireMapping.FromWire(wire, usage).Usage);
    }

    [Theory(Timeout = 10_000)]
    [InlineData(null)]
    [InlineData(FinishReason.Stop)]
    [InlineData(FinishReason.Length)]
    public void A_prefill_choice_survives_the_trip_with_its_sampler_state(FinishReason? finish)
    {
        var sent = new PrefillChoice(3, 1234, 0xDEADBEEF_CAFEF00DUL, finish);
        var received = WireMapping.FromWire(FirstToken.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(WireMapping.ToWire(sent))));
        Assert.Equal(sent, received);
    }

    private static string Json(object? value) => JsonSerializer.Serialize(value);
}
