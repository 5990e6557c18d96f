namespace InferServe.Engine;

/// <summary>The one place a generation request is checked against the model and the server's limits.</summary>
public static class RequestValidator
{
    public static void Validate(GenerationRequest r, ModelFacts facts)
    {
        int n = r.PromptTokens.Count;
        if (n == 0) throw new InvalidRequestException("The prompt must contain at least one token.", "prompt");
        foreach (var t in r.PromptTokens)
            if ((uint)t >= (uint)facts.VocabSize)
                throw new InvalidRequestException($"Token id {t} is outside the vocabulary (size {facts.VocabSize}).", "prompt");
        if (r.MaxTokens < 1) throw new InvalidRequestException("max_tokens must be at least 1.", "max_tokens");
        if (n + r.MaxTokens > facts.MaxContext)
            throw new InvalidRequestException($"This model's maximum context length is {facts.MaxContext} tokens. However, you requested {n + r.MaxTokens} tokens ({n} in the prompt, {r.MaxTokens} for the completion).", "max_tokens");
        int blocks = (n + r.MaxTokens + facts.KvBlockSize - 1) / facts.KvBlockSize;
        if (blocks > facts.KvTotalBlocks)
            throw new InvalidRequestException($"The request needs {blocks} KV blocks but the cache holds {facts.KvTotalBlocks}; lower max_tokens or raise --kv-cache-memory.", "max_tokens");
        if (r.N < 1 || r.N > facts.MaxSeqs) throw new InvalidRequestException($"n must be between 1 and {facts.MaxSeqs}.", "n");
        if (r.Logprobs is < 0 or > 20) throw new InvalidRequestException("logprobs must be between 0 and 20.", "logprobs");
        if (r.PromptLogprobs is < 0 or > 20) throw new InvalidRequestException("prompt logprobs must be between 0 and 20.", "logprobs");
        var p = r.Sampling;
        if (!(p.Temperature >= 0)) throw new InvalidRequestException("temperature must be non-negative.", "temperature");
        if (!(p.TopP > 0 && p.TopP <= 1)) throw new InvalidRequestException("top_p must be in (0, 1].", "top_p");
        if (!(p.MinP >= 0 && p.MinP <= 1)) throw new InvalidRequestException("min_p must be in [0, 1].", "min_p");
        if (p.TopK < -1) throw new InvalidRequestException("top_k must be -1 (disabled) or positive.", "top_k");
        if (!(p.RepetitionPenalty > 0)) throw new InvalidRequestException("repetition_penalty must be positive.", "repetition_penalty");
        if (!(p.PresencePenalty >= -2 && p.PresencePenalty <= 2)) throw new InvalidRequestException("presence_penalty must be in [-2, 2].", "presence_penalty");
        if (!(p.FrequencyPenalty >= -2 && p.FrequencyPenalty <= 2)) throw new InvalidRequestException("frequency_penalty must be in [-2, 2].", "frequency_penalty");
        foreach (var s in r.StopStrings)
            if (string.IsNullOrEmpty(s)) throw new InvalidRequestException("Stop strings must not be empty.", "stop");
        if (r.MinTokens < 0 || r.MinTokens > r.MaxTokens)
            throw new InvalidRequestException($"min_tokens must be between 0 and max_tokens ({r.MaxTokens}), got {r.MinTokens}.", "min_tokens");
        if (p.LogitBias is { } bias)
        {
            if (bias.Count > 300) throw new InvalidRequestException($"logit_bias accepts at most 300 tokens, got {bias.Count}.", "logit_bias");
            foreach (var (id, b) in bias)
            {
                if ((uint)id >= (uint)facts.VocabSize)
                    throw new InvalidRequestException($"logit_bias: token id {id} is outside the vocabulary (size {facts.VocabSize}).", "logit_bias");
                if (!(b >= -100 && b <= 100)) throw new InvalidRequestException($"logit_bias: the bias for token {id} must be in [-100, 100], got {b}.", "logit_bias");
            }
        }
        foreach (var id in r.StopTokenIds)
            if ((uint)id >= (uint)facts.VocabSize)
                throw new InvalidRequestException($"stop_token_ids: token id {id} is outside the vocabulary (size {facts.VocabSize}).", "stop_token_ids");
    }
}
