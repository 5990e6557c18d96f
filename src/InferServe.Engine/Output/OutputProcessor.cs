using System.Diagnostics;
using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;
using InferServe.Engine.Scheduling;
using InferServe.Tokenization;

namespace InferServe.Engine.Output;

/// <summary>
/// What a step's logits become: prompt logprobs, n>1 forks at a request's first sample (sharing its prompt blocks),
/// then per sampling sequence its logit adjustments, grammar mask, sampled token and logprobs, the finish rules, and
/// the event on the request's stream. Engine thread; nothing allocated per token beyond the event itself.
/// </summary>
internal sealed class OutputProcessor(ModelRunner runner, Scheduler scheduler, KvCacheManager kv, RequestTable requests, GrammarMasks grammars,
    ITokenizer tokenizer, HashSet<int> eos, int maxContext, IEngineObserver observer)
{
    private readonly Sampler _sampler = new();
    private readonly PromptLogprobs _promptLogprobs = new(runner, new Sampler());
    private readonly int[]?[] _tokenLists = new int[]?[runner.Config.VocabSize];
    private float[] _adjusted = [];

    /// <summary>Tokens sampled so far.</summary>
    public long GeneratedTokens { get; private set; }

    /// <param name="logits">One row per <see cref="BatchBuilder.LogitRows"/> entry, as the runner returned them.</param>
    public void Process(List<ScheduledChunk> plan, BatchBuilder batch, ReadOnlySpan<float> logits)
    {
        logits = _promptLogprobs.Record(plan, batch, logits);
        int v = runner.Config.VocabSize;
        var sampling = batch.Sampling;
        for (int r = 0; r < sampling.Count; r++)
        {
            var seq = sampling[r];
            var row = logits.Slice(r * v, v);
            var request = seq.Request;
            if (request.Spec.N > 1 && !request.Forked) Fork(seq, row);
            SampleAndEmit(seq, row);
        }
    }

    /// <summary>The other n-1 choices: each shares the first's blocks and samples from the same row with its own random stream.</summary>
    private void Fork(Sequence seq, ReadOnlySpan<float> row)
    {
        var request = seq.Request;
        request.Forked = true;
        for (int i = 1; i < request.Spec.N; i++)
        {
            ulong rng = seq.Rng + (ulong)i * 0xD1B54A32D192ED03UL;
            var child = seq.Fork(i, kv.Fork(seq.Kv), rng, OutputState.For(tokenizer, request.Spec));
            request.Sequences.Add(child);
            request.Unfinished++;
            scheduler.AddRunning(child);
            SampleAndEmit(child, row);
        }
    }

    private void SampleAndEmit(Sequence seq, ReadOnlySpan<float> logits)
    {
        var spec = seq.Request.Spec;
        var (token, grammarBroken) = Sample(seq, logits);
        var logprob = spec.Logprobs is int k ? _sampler.Logprobs(logits, token, k) : null;
        seq.Append(token);
        seq.Request.CompletionTokens++;
        GeneratedTokens++;
        NoteLatency(seq);
        var (finish, text) = FinishRules.After(seq, token, grammarBroken, eos, maxContext);
        Emission.Emit(seq, text, TokenList(token), logprob is null ? null : [logprob], finish);
        if (finish is { } reason) requests.Finish(seq, reason);
    }

    /// <summary>
    /// Samples from a copy adjusted for logit_bias and min_tokens (logprobs still report the model's own distribution),
    /// under the grammar's mask; the grammar then takes the token, or breaks (nothing it allows follows).
    /// </summary>
    private (int Token, bool GrammarBroken) Sample(Sequence seq, ReadOnlySpan<float> logits)
    {
        var spec = seq.Request.Spec;
        var sampled = logits;
        if (LogitAdjustments.Needed(spec, seq.Generated))
        {
            if (_adjusted.Length < logits.Length) _adjusted = new float[logits.Length];
            var row = _adjusted.AsSpan(0, logits.Length);
            logits.CopyTo(row);
            LogitAdjustments.Apply(row, spec, seq.Generated, eos);
            sampled = row;
        }
        var grammar = seq.Grammar;
        if (grammar is null) return (_sampler.Sample(sampled, spec.Sampling, ref seq.Rng, seq), false);
        long maskStart = Stopwatch.GetTimestamp();
        int token = _sampler.Sample(sampled, spec.Sampling, ref seq.Rng, seq, grammars.Mask(seq, grammar));
        if (grammar.BudgetNarrowed && !seq.BudgetCloseCounted)
        {
            seq.BudgetCloseCounted = true;
            observer.StructuredOutputBudgetClose();
        }
        bool broken;
        try { broken = !grammar.Accept(token); }
        catch (InferServe.Grammar.GrammarException) { broken = true; }
        grammars.Record(Stopwatch.GetTimestamp() - maskStart);
        return (token, broken);
    }

    /// <summary>Time to first token (the request leaves the queue then) or between tokens.</summary>
    private void NoteLatency(Sequence seq)
    {
        long now = Stopwatch.GetTimestamp();
        var request = seq.Request;
        if (request.FirstTokenTicks == 0)
        {
            request.FirstTokenTicks = now;
            observer.FirstToken(Stopwatch.GetElapsedTime(request.ArrivalTicks, now), Stopwatch.GetElapsedTime(request.ArrivalTicks, seq.AdmittedTicks));
            requests.Dequeued();
        }
        else
        {
            observer.InterTokenLatency(Stopwatch.GetElapsedTime(request.LastTokenTicks, now));
        }

        request.LastTokenTicks = now;
    }

    /// <summary>A one-token list per vocabulary id, made once: events are read-only, so every event of a token shares it.</summary>
    private int[] TokenList(int token) => _tokenLists[token] ??= [token];
}
