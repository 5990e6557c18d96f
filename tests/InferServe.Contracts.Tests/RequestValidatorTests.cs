using InferServe.Grammar;

namespace InferServe.Contracts.Tests;

/// <summary>
/// The bounds every request meets, whichever edge it came in on: each rule refuses the first value past its bound,
/// names the offending parameter, and accepts the bound itself.
/// </summary>
public sealed class RequestValidatorTests
{
    private static readonly ModelFacts Facts = new(
        Architecture: "llama", VocabSize: 512, MaxContext: 256, BosTokenId: 1, EosTokenIds: [2], KvBlockSize: 16, KvTotalBlocks: 12, MaxSeqs: 4);

    private static readonly GenerationRequest Valid = new() { PromptTokens = [1, 100, 200], MaxTokens = 8 };

    private static string RefusedParam(GenerationRequest request) =>
        Assert.Throws<InvalidRequestException>(() => RequestValidator.Validate(request, Facts)).Param!;

    private static GenerationRequest WithSampling(Func<SamplingParams, SamplingParams> change) => Valid with { Sampling = change(Valid.Sampling) };

    [Fact(Timeout = 10_000)]
    public void A_plain_request_within_every_bound_is_accepted() => RequestValidator.Validate(Valid, Facts);

    public static TheoryData<string, GenerationRequest> Refused => new()
    {
        { "prompt", Valid with { PromptTokens = [] } },
        { "prompt", Valid with { PromptTokens = [1, Facts.VocabSize] } },
        { "prompt", Valid with { PromptTokens = [-1] } },
        { "max_tokens", Valid with { MaxTokens = 0 } },
        { "max_tokens", Valid with { MaxTokens = Facts.MaxContext - Valid.PromptTokens.Count + 1 } },
        { "n", Valid with { N = 0 } },
        { "n", Valid with { N = Facts.MaxSeqs + 1 } },
        { "logprobs", Valid with { Logprobs = -1 } },
        { "logprobs", Valid with { Logprobs = RequestLimits.MaxLogprobs + 1 } },
        { "logprobs", Valid with { PromptLogprobs = RequestLimits.MaxLogprobs + 1 } },
        { "stop", Valid with { StopStrings = [.. Enumerable.Repeat("x", RequestLimits.MaxStopSequences + 1)] } },
        { "stop", Valid with { StopStrings = [""] } },
        { "stop", Valid with { StopStrings = [new string('x', RequestLimits.MaxStopLength + 1)] } },
        { "stop_token_ids", Valid with { StopTokenIds = [.. Enumerable.Repeat(2, RequestLimits.MaxStopTokenIds + 1)] } },
        { "stop_token_ids", Valid with { StopTokenIds = [Facts.VocabSize] } },
        { "min_tokens", Valid with { MinTokens = -1 } },
        { "min_tokens", Valid with { MinTokens = Valid.MaxTokens + 1 } },
        { "logit_bias", WithSampling(s => s with { LogitBias = new Dictionary<int, float> { [Facts.VocabSize] = 1 } }) },
        { "logit_bias", WithSampling(s => s with { LogitBias = new Dictionary<int, float> { [3] = 100.5f } }) },
        { "logit_bias", WithSampling(s => s with { LogitBias = new Dictionary<int, float> { [3] = float.NaN } }) },
        { "logit_bias", WithSampling(s => s with { LogitBias = Enumerable.Range(0, 301).ToDictionary(i => i, _ => 1f) }) },
        { "temperature", WithSampling(s => s with { Temperature = -0.1f }) },
        { "temperature", WithSampling(s => s with { Temperature = RequestLimits.MaxTemperature + 0.1f }) },
        { "temperature", WithSampling(s => s with { Temperature = float.NaN }) },
        { "top_p", WithSampling(s => s with { TopP = 0 }) },
        { "top_p", WithSampling(s => s with { TopP = 1.01f }) },
        { "min_p", WithSampling(s => s with { MinP = -0.01f }) },
        { "top_k", WithSampling(s => s with { TopK = -2 }) },
        { "repetition_penalty", WithSampling(s => s with { RepetitionPenalty = 0 }) },
        { "repetition_penalty", WithSampling(s => s with { RepetitionPenalty = RequestLimits.MaxRepetitionPenalty + 0.1f }) },
        { "presence_penalty", WithSampling(s => s with { PresencePenalty = -RequestLimits.MaxAbsPenalty - 0.1f }) },
        { "frequency_penalty", WithSampling(s => s with { FrequencyPenalty = RequestLimits.MaxAbsPenalty + 0.1f }) },
        { "response_format", Valid with { Grammar = new GrammarSpec(GrammarKind.JsonSchema, "{\"type\":") } },
    };

    [Theory(Timeout = 10_000)]
    [MemberData(nameof(Refused))]
    public void A_value_past_its_bound_is_refused_naming_the_parameter(string param, GenerationRequest request) =>
        Assert.Equal(param, RefusedParam(request));

    public static TheoryData<GenerationRequest> AtTheBound => new()
    {
        Valid with { PromptTokens = [0, Facts.VocabSize - 1] },
        Valid with { MaxTokens = Math.Min(Facts.MaxContext, Facts.KvCapacityTokens) - Valid.PromptTokens.Count },
        Valid with { N = Facts.MaxSeqs, Logprobs = RequestLimits.MaxLogprobs, PromptLogprobs = 0 },
        Valid with { StopStrings = [.. Enumerable.Repeat(new string('x', RequestLimits.MaxStopLength), RequestLimits.MaxStopSequences)] },
        Valid with { StopTokenIds = [.. Enumerable.Repeat(Facts.VocabSize - 1, RequestLimits.MaxStopTokenIds)] },
        Valid with { MinTokens = Valid.MaxTokens },
        WithSampling(s => s with
        {
            Temperature = RequestLimits.MaxTemperature, TopP = 1, MinP = 1, TopK = -1, RepetitionPenalty = RequestLimits.MaxRepetitionPenalty,
            PresencePenalty = -RequestLimits.MaxAbsPenalty, FrequencyPenalty = RequestLimits.MaxAbsPenalty,
            LogitBias = new Dictionary<int, float> { [0] = -100, [Facts.VocabSize - 1] = 100 },
        }),
        WithSampling(s => s with { Temperature = 0 }),
        Valid with { Grammar = new GrammarSpec(GrammarKind.JsonSchema, """{"type":"object"}""") },
    };

    [Theory(Timeout = 10_000)]
    [MemberData(nameof(AtTheBound))]
    public void A_value_at_its_bound_is_accepted(GenerationRequest request) => RequestValidator.Validate(request, Facts);

    [Fact(Timeout = 10_000)]
    public void A_request_that_fits_the_context_but_not_the_kv_cache_is_refused_with_the_blocks_it_needs()
    {
        // 12 blocks of 16 hold 192 tokens, less than the 256-token context: the cache is the bound here.
        int capacity = Facts.KvCapacityTokens;
        Assert.True(capacity < Facts.MaxContext);
        var fits = Valid with { MaxTokens = capacity - Valid.PromptTokens.Count };
        RequestValidator.Validate(fits, Facts);

        var tooLong = fits with { MaxTokens = fits.MaxTokens + 1 };
        var e = Assert.Throws<InvalidRequestException>(() => RequestValidator.Validate(tooLong, Facts));
        Assert.Equal("max_tokens", e.Param);
        Assert.Contains($"needs {Facts.KvTotalBlocks + 1} KV blocks but the cache holds {Facts.KvTotalBlocks}", e.Message);
    }

    [Fact(Timeout = 10_000)]
    public void A_request_past_the_context_length_is_refused_with_the_openai_wording()
    {
        var facts = Facts with { KvTotalBlocks = 1000 }; // the cache is not the bound here
        var request = Valid with { MaxTokens = facts.MaxContext };
        var e = Assert.Throws<InvalidRequestException>(() => RequestValidator.Validate(request, facts));
        Assert.Equal("max_tokens", e.Param);
        Assert.Contains($"maximum context length is {facts.MaxContext} tokens", e.Message);
        Assert.Contains($"({request.PromptTokens.Count} in the prompt, {request.MaxTokens} for the completion)", e.Message);
    }

    [Fact(Timeout = 10_000)]
    public void A_grammar_error_is_reported_under_the_parameter_that_carried_the_grammar()
    {
        var request = Valid with { Grammar = new GrammarSpec(GrammarKind.Regex, "(unclosed", Param: "structured_outputs.regex") };
        Assert.Equal("structured_outputs.regex", RefusedParam(request));
    }
}
