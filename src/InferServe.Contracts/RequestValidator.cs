using InferServe.Grammar;

namespace InferServe.Contracts;

/// <summary>The bounds every request meets, whichever edge (HTTP, gRPC, CLI) it arrived on.</summary>
public static class RequestLimits
{
    /// <summary>OpenAI's range: above 2 sampling is noise.</summary>
    public const float MaxTemperature = 2f;
    public const float MaxRepetitionPenalty = 2f;
    public const float MaxAbsPenalty = 2f;
    public const int MaxLogprobs = 20;
    public const int MaxStopSequences = 16;
    public const int MaxStopLength = 256;
    public const int MaxStopTokenIds = 64;
}

/// <summary>
/// The one place a generation request is checked against the model and the server's limits. The HTTP and gRPC edges
/// check only types and shapes; every range is judged here, so both refuse the same values.
/// </summary>
public static class RequestValidator
{
    public static void Validate(GenerationRequest r, ModelFacts facts)
    {
        int n = r.PromptTokens.Count;
        if (n == 0) throw new InvalidRequestException("The prompt must contain at least one token.", "prompt");
        foreach (var t in r.PromptTokens)
        {
            if ((uint)t >= (uint)facts.VocabSize)
                throw new InvalidRequestException($"Token id {t} is outside the vocabulary (size {facts.VocabSize}).", "prompt");
        }

        if (r.MaxTokens < 1) throw new InvalidRequestException("max_tokens must be at least 1.", "max_tokens");
        if ((long)n + r.MaxTokens > facts.MaxContext)
            throw new InvalidRequestException($"This model's maximum context length is {facts.MaxContext} tokens. However, you requested {(long)n + r.MaxTokens} tokens ({n} in the prompt, {r.MaxTokens} for the completion).", "max_tokens");
        int blocks = (n + r.MaxTokens + facts.KvBlockSize - 1) / facts.KvBlockSize;
        if (blocks > facts.KvTotalBlocks)
            throw new InvalidRequestException($"The request needs {blocks} KV blocks but the cache holds {facts.KvTotalBlocks}; lower max_tokens or raise --kv-cache-memory.", "max_tokens");
        if (r.N < 1 || r.N > facts.MaxSeqs) throw new InvalidRequestException($"n must be between 1 and {facts.MaxSeqs}.", "n");
        if (r.Logprobs is < 0 or > RequestLimits.MaxLogprobs) throw new InvalidRequestException($"logprobs must be between 0 and {RequestLimits.MaxLogprobs}.", "logprobs");
        ValidateSampling(r.Sampling);
        if (r.StopStrings.Count > RequestLimits.MaxStopSequences)
            throw new InvalidRequestException($"stop accepts at most {RequestLimits.MaxStopSequences} sequences, got {r.StopStrings.Count}.", "stop");
        foreach (var s in r.StopStrings)
        {
            if (string.IsNullOrEmpty(s) || s.Length > RequestLimits.MaxStopLength)
                throw new InvalidRequestException($"Each stop sequence must be 1 to {RequestLimits.MaxStopLength} characters long.", "stop");
        }

        if (r.StopTokenIds.Count > RequestLimits.MaxStopTokenIds)
            throw new InvalidRequestException($"stop_token_ids accepts at most {RequestLimits.MaxStopTokenIds} ids, got {r.StopTokenIds.Count}.", "stop_token_ids");
        if (r.PromptLogprobs is < 0 or > RequestLimits.MaxLogprobs) throw new InvalidRequestException($"prompt logprobs must be between 0 and {RequestLimits.MaxLogprobs}.", "logprobs");
        if (r.MinTokens < 0 || r.MinTokens > r.MaxTokens)
            throw new InvalidRequestException($"min_tokens must be between 0 and max_tokens ({r.MaxTokens}), got {r.MinTokens}.", "min_tokens");
        if (r.Sampling.LogitBias is { } bias)
        {
            if (bias.Count > 300) throw new InvalidRequestException($"logit_bias accepts at most 300 tokens, got {bias.Count}.", "logit_bias");
            foreach (var (id, b) in bias)
            {
                if ((uint)id >= (uint)facts.VocabSize)
                    throw new InvalidRequestException($"logit_bias: token id {id} is outside the vocabulary (size {facts.VocabSize}).", "logit_bias");
                if (!(b >= -100 && b <= 100)) throw new InvalidRequestException($"logit_bias: the bias for token {id} must be in [-100, 100], got {b}.", "logit_bias");
            }
        }
        if (r.Sampling.AllowedTokenIds is { } allowed)
        {
            if (allowed.Count == 0) throw new InvalidRequestException("allowed_token_ids must not be empty.", "allowed_token_ids");
            foreach (var id in allowed)
            {
                if ((uint)id >= (uint)facts.VocabSize)
                    throw new InvalidRequestException($"allowed_token_ids: token id {id} is outside the vocabulary (size {facts.VocabSize}).", "allowed_token_ids");
            }
        }
        foreach (var id in r.StopTokenIds)
        {
            if ((uint)id >= (uint)facts.VocabSize)
                throw new InvalidRequestException($"stop_token_ids: token id {id} is outside the vocabulary (size {facts.VocabSize}).", "stop_token_ids");
        }

        if (r.Grammar is { } g)
        {
            // Compiling is the check (and is cached, so the engine does not do it again).
            try { Grammars.Compile(g); }
            catch (GrammarException e) { throw new InvalidRequestException($"{g.Param}: {e.Message}", g.Param); }
        }
    }

    /// <summary>Sampling parameters alone (no model needed); NaN fails every check.</summary>
    public static void ValidateSampling(SamplingParams p)
    {
        if (!(p.Temperature >= 0 && p.Temperature <= RequestLimits.MaxTemperature))
            throw new InvalidRequestException($"temperature must be in [0, {RequestLimits.MaxTemperature}], got {p.Temperature}.", "temperature");
        if (!(p.TopP > 0 && p.TopP <= 1)) throw new InvalidRequestException($"top_p must be in (0, 1], got {p.TopP}.", "top_p");
        if (!(p.MinP >= 0 && p.MinP <= 1)) throw new InvalidRequestException($"min_p must be in [0, 1], got {p.MinP}.", "min_p");
        if (p.TopK < -1) throw new InvalidRequestException($"top_k must be -1 (disabled) or at least 0, got {p.TopK}.", "top_k");
        if (!(p.RepetitionPenalty > 0 && p.RepetitionPenalty <= RequestLimits.MaxRepetitionPenalty))
            throw new InvalidRequestException($"repetition_penalty must be in (0, {RequestLimits.MaxRepetitionPenalty}], got {p.RepetitionPenalty}.", "repetition_penalty");
        if (!(Math.Abs(p.PresencePenalty) <= RequestLimits.MaxAbsPenalty))
            throw new InvalidRequestException($"presence_penalty must be in [-{RequestLimits.MaxAbsPenalty}, {RequestLimits.MaxAbsPenalty}], got {p.PresencePenalty}.", "presence_penalty");
        if (!(Math.Abs(p.FrequencyPenalty) <= RequestLimits.MaxAbsPenalty))
            throw new InvalidRequestException($"frequency_penalty must be in [-{RequestLimits.MaxAbsPenalty}, {RequestLimits.MaxAbsPenalty}], got {p.FrequencyPenalty}.", "frequency_penalty");
    }
}
