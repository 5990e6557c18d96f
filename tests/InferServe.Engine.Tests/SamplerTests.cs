using InferServe.Contracts;
using InferServe.Engine.Sampling;

namespace InferServe.Engine.Tests;

/// <summary>The sampler's rules, one at a time, on small hand-made logits.</summary>
public sealed class SamplerTests
{
    private sealed class History(int[] prompt, Dictionary<int, int> output) : IPenaltyContext
    {
        public ReadOnlySpan<int> PromptTokens => prompt;
        public IReadOnlyDictionary<int, int> OutputCounts => output;
    }

    // Token 3 is the most likely, then 1, then 0; 2 and 4 are far behind.
    private static readonly float[] Logits = [1.0f, 2.0f, -3.0f, 2.5f, -4.0f];

    private static HashSet<int> Draws(SamplingParams p, int count = 2000, ulong seed = 1)
    {
        var sampler = new Sampler();
        var seen = new HashSet<int>();
        ulong rng = seed;
        for (int i = 0; i < count; i++) seen.Add(sampler.Sample(Logits, p, ref rng));
        return seen;
    }

    [Fact(Timeout = 30_000)]
    public void Temperature_zero_and_top_k_one_take_the_most_likely_token()
    {
        Assert.Equal([3], Draws(new SamplingParams { Temperature = 0 }));
        Assert.Equal([3], Draws(new SamplingParams { Temperature = 2, TopK = 1 }));
    }

    [Fact(Timeout = 30_000)]
    public void The_same_seed_draws_the_same_tokens_and_another_seed_others()
    {
        var sampler = new Sampler();
        var p = new SamplingParams { Temperature = 1.5f };
        int[] Run(ulong seed)
        {
            ulong rng = seed;
            return [.. Enumerable.Range(0, 64).Select(_ => sampler.Sample(Logits, p, ref rng))];
        }
        Assert.Equal(Run(42), Run(42));
        Assert.NotEqual(Run(42), Run(43));
    }

    [Fact(Timeout = 30_000)]
    public void Top_k_keeps_only_the_k_most_likely_tokens()
    {
        Assert.Equal([1, 3], Draws(new SamplingParams { Temperature = 2, TopK = 2 }).Order());
        Assert.Equal([0, 1, 2, 3, 4], Draws(new SamplingParams { Temperature = 5 }, count: 20_000).Order());
    }

    [Fact(Timeout = 30_000)]
    public void Top_p_keeps_the_smallest_set_that_reaches_p()
    {
        // At temperature 1 token 3 holds ~0.55 of the mass and token 1 ~0.33: p = 0.5 keeps one, p = 0.8 two.
        Assert.Equal([3], Draws(new SamplingParams { TopP = 0.5f }));
        Assert.Equal([1, 3], Draws(new SamplingParams { TopP = 0.8f }).Order());
    }

    [Fact(Timeout = 30_000)]
    public void Min_p_drops_tokens_below_that_share_of_the_top_probability()
    {
        // p(0) / p(3) = e^-1.5 ≈ 0.22, p(1) / p(3) = e^-0.5 ≈ 0.61.
        Assert.Equal([1, 3], Draws(new SamplingParams { MinP = 0.3f }).Order());
        Assert.Equal([0, 1, 3], Draws(new SamplingParams { MinP = 0.1f }).Order());
    }

    [Fact(Timeout = 30_000)]
    public void Penalties_push_greedy_away_from_tokens_already_seen()
    {
        var sampler = new Sampler();
        ulong rng = 0;
        var saw3 = new History([3], []);
        // Repetition: 2.5 / 2 = 1.25 < 2.0, so token 1 wins.
        Assert.Equal(1, sampler.Sample(Logits, new SamplingParams { Temperature = 0, RepetitionPenalty = 2 }, ref rng, saw3));
        // Presence and frequency count only generated tokens: a prompt token is not penalized by them.
        Assert.Equal(3, sampler.Sample(Logits, new SamplingParams { Temperature = 0, PresencePenalty = 2 }, ref rng, saw3));
        var generated3Twice = new History([], new() { [3] = 2 });
        Assert.Equal(1, sampler.Sample(Logits, new SamplingParams { Temperature = 0, FrequencyPenalty = 0.3f }, ref rng, generated3Twice));
        Assert.Equal(3, sampler.Sample(Logits, new SamplingParams { Temperature = 0, FrequencyPenalty = 0.2f }, ref rng, generated3Twice));
    }

    [Fact(Timeout = 30_000)]
    public void Logprobs_are_the_log_softmax_with_the_top_alternatives_most_likely_first()
    {
        var lp = new Sampler().Logprobs(Logits, token: 0, top: 3);
        double logZ = Math.Log(Logits.Sum(l => Math.Exp(l)));
        Assert.Equal(0, lp.TokenId);
        Assert.Equal(1.0 - logZ, lp.Logprob, 4);
        Assert.Equal([3, 1, 0], lp.Top.Select(a => a.TokenId));
        foreach (var a in lp.Top) Assert.Equal(Logits[a.TokenId] - logZ, a.Logprob, 4);
    }
}
