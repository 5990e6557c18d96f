using Google.Protobuf.Collections;
using InferServe.Contracts;
using InferServe.Grammar;
using InferServe.Transport.V1;

namespace InferServe.Transport;

/// <summary>
/// The worker mapper: engine contracts to worker messages and back. A request crosses with every field of the shared
/// <see cref="GenerationRequest"/>, so remote steps obey it exactly (a round-trip test holds every field to it).
/// </summary>
public static class WireMapping
{
    public static Request ToWire(GenerationRequest r)
    {
        var p = r.Sampling;
        var sampling = new Sampling
        {
            Temperature = p.Temperature, TopP = p.TopP, TopK = p.TopK, MinP = p.MinP,
            RepetitionPenalty = p.RepetitionPenalty, PresencePenalty = p.PresencePenalty, FrequencyPenalty = p.FrequencyPenalty,
        };
        if (p.Seed is { } seed) sampling.Seed = seed;
        if (p.AllowedTokenIds is { } allowed) sampling.AllowedTokenIds.AddRange(allowed);
        var wire = new Request
        {
            RequestId = r.RequestId, Sampling = sampling, MaxTokens = r.MaxTokens, N = r.N, IgnoreEos = r.IgnoreEos,
            Priority = r.Priority, CacheSalt = r.CacheSalt ?? "",
            MinTokens = r.MinTokens, IncludeStopStrInOutput = r.IncludeStopStringInOutput, KeepSpecialTokens = !r.SkipSpecialTokens,
        };
        if (p.LogitBias is { } bias)
            foreach (var (id, b) in bias) wire.LogitBias[id] = b;
        wire.Prompt.AddRange(r.PromptTokens);
        wire.Stop.AddRange(r.StopStrings);
        wire.StopTokenIds.AddRange(r.StopTokenIds);
        if (r.Logprobs is { } k) wire.Logprobs = k;
        if (r.PromptLogprobs is { } pk) wire.PromptLogprobs = pk;
        if (r.Grammar is { } g)
        {
            wire.GrammarKind = (int)g.Kind + 1;
            wire.GrammarSource = g.Source;
            wire.GrammarParam = g.Param;
        }
        return wire;
    }

    public static GenerationRequest FromWire(Request r)
    {
        var s = r.Sampling ?? new Sampling { Temperature = 1, TopP = 1, RepetitionPenalty = 1 };
        return new GenerationRequest
        {
            RequestId = r.RequestId.Length > 0 ? r.RequestId : Guid.NewGuid().ToString("N"),
            PromptTokens = [.. r.Prompt],
            MaxTokens = r.MaxTokens,
            N = r.N,
            StopStrings = [.. r.Stop],
            StopTokenIds = [.. r.StopTokenIds],
            IgnoreEos = r.IgnoreEos,
            MinTokens = r.MinTokens,
            IncludeStopStringInOutput = r.IncludeStopStrInOutput,
            SkipSpecialTokens = !r.KeepSpecialTokens,
            Logprobs = r.HasLogprobs ? r.Logprobs : null,
            PromptLogprobs = r.HasPromptLogprobs ? r.PromptLogprobs : null,
            Priority = r.Priority,
            CacheSalt = r.CacheSalt.Length > 0 ? r.CacheSalt : null,
            Grammar = r.GrammarKind > 0 ? new GrammarSpec((GrammarKind)(r.GrammarKind - 1), r.GrammarSource, r.GrammarParam) : null,
            Sampling = new SamplingParams
            {
                Temperature = s.Temperature, TopP = s.TopP, TopK = s.TopK, MinP = s.MinP, RepetitionPenalty = s.RepetitionPenalty,
                PresencePenalty = s.PresencePenalty, FrequencyPenalty = s.FrequencyPenalty, Seed = s.HasSeed ? s.Seed : null,
                LogitBias = r.LogitBias.Count > 0 ? r.LogitBias.ToDictionary(kv => kv.Key, kv => kv.Value) : null,
                AllowedTokenIds = s.AllowedTokenIds.Count > 0 ? [.. s.AllowedTokenIds] : null,
            },
        };
    }

    public static TokenEvent ToWire(GenerationEvent e)
    {
        var wire = new TokenEvent
        {
            Index = e.Index, Text = e.TextDelta, Finish = ToWire(e.Finish), HasLogprobs = e.Logprobs is not null,
            Usage = new Usage { PromptTokens = e.Usage.PromptTokens, CompletionTokens = e.Usage.CompletionTokens, CachedTokens = e.Usage.CachedTokens },
        };
        wire.TokenIds.AddRange(e.TokenIds);
        if (e.Logprobs is not null)
        {
            foreach (var lp in e.Logprobs)
            {
                var item = new Logprob { TokenId = lp.TokenId, Logprob_ = lp.Logprob };
                foreach (var alt in lp.Top) item.Top.Add(new Alternative { TokenId = alt.TokenId, Logprob = alt.Logprob });
                wire.Logprobs.Add(item);
            }
        }

        return wire;
    }

    public static GenerationEvent FromWire(TokenEvent e, GenerationUsage? usage = null) => new(
        e.Index,
        e.Text,
        [.. e.TokenIds],
        e.HasLogprobs ? [.. e.Logprobs.Select(lp => new TokenLogprob(lp.TokenId, lp.Logprob_, [.. lp.Top.Select(a => new TokenAlternative(a.TokenId, a.Logprob))]))] : null,
        FromWire(e.Finish),
        usage ?? new GenerationUsage(e.Usage?.PromptTokens ?? 0, e.Usage?.CompletionTokens ?? 0, e.Usage?.CachedTokens ?? 0));

    public static Finish ToWire(FinishReason? f) => f switch
    {
        null => Finish.None,
        FinishReason.Stop => Finish.Stop,
        FinishReason.Length => Finish.Length,
        FinishReason.Abort => Finish.Abort,
        _ => Finish.Error,
    };

    public static FinishReason? FromWire(Finish f) => f switch
    {
        Finish.None => null,
        Finish.Stop => FinishReason.Stop,
        Finish.Length => FinishReason.Length,
        Finish.Abort => FinishReason.Abort,
        _ => FinishReason.Error,
    };

    public static FirstToken ToWire(PrefillChoice c) => new() { Index = c.Index, Token = c.Token, Rng = c.Rng, Finish = ToWire(c.Finish) };

    public static PrefillChoice FromWire(FirstToken t) => new(t.Index, t.Token, t.Rng, FromWire(t.Finish));

    public static void AddHash(RepeatedField<ulong> target, BlockHash hash)
    {
        target.Add(hash.Hi);
        target.Add(hash.Lo);
    }

    public static IEnumerable<BlockHash> Hashes(RepeatedField<ulong> source)
    {
        for (int i = 0; i + 1 < source.Count; i += 2) yield return new BlockHash(source[i], source[i + 1]);
    }
}
