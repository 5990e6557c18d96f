using System.Diagnostics;
using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Grammar;
using InferServe.Grammar.Matching;
using InferServe.Tokenization;

namespace InferServe.Engine.Sampling;

/// <summary>Time spent on grammar masks and token acceptance, for bench and diagnostics.</summary>
public sealed class GrammarTimings
{
    private long _ticks, _tokens, _misses;

    /// <summary>Constrained tokens sampled.</summary>
    public long Tokens => Volatile.Read(ref _tokens);
    /// <summary>Masks computed by walking the vocabulary (the rest came from the per-state cache).</summary>
    public long MaskWalks => Volatile.Read(ref _misses);
    public TimeSpan Total => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _ticks));
    public double MillisecondsPerToken => Tokens == 0 ? 0 : Total.TotalMilliseconds / Tokens;

    internal void Add(long ticks, int tokens, int misses)
    {
        Interlocked.Add(ref _ticks, ticks);
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Add(ref _misses, misses);
    }
}

/// <summary>
/// The engine's side of constrained decoding: the token vocabulary (built once, on first use), grammars bound to
/// it, and building the masks of one step's sequences in parallel while the forward pass runs. Each mask is
/// budgeted by the tokens the sequence has left, so structured outputs close before max_tokens or the context.
/// </summary>
internal sealed class GrammarMasks(ITokenizer tokenizer, int vocabSize, IEnumerable<int> eosIds, int maxContext)
{
    private const int MaxGrammars = 64;
    private readonly Dictionary<object, CompiledGrammar> _compiled = new(ReferenceEqualityComparer.Instance);
    private readonly Queue<object> _order = new();
    private readonly List<(GrammarMatcher Matcher, int Remaining, bool EndAllowed)> _pending = [];
    private TokenVocabulary? _vocabulary;

    public GrammarTimings Timings { get; } = new();

    /// <summary>A matcher at the start of the request's grammar, advanced over tokens already generated (imports).</summary>
    public GrammarMatcher? Create(GenerationRequest spec, ReadOnlySpan<int> generated)
    {
        if (spec.Grammar is not { } g) return null;
        var program = Grammars.Compile(g);
        if (!_compiled.TryGetValue(program, out var compiled))
        {
            _vocabulary ??= new TokenVocabulary(tokenizer, vocabSize, eosIds);
            compiled = new CompiledGrammar(program, _vocabulary);
            _compiled[program] = compiled;
            _order.Enqueue(program);
            if (_order.Count > MaxGrammars) _compiled.Remove(_order.Dequeue());
        }
        var matcher = new GrammarMatcher(compiled);
        foreach (int t in generated) matcher.Accept(t);
        return matcher;
    }

    /// <summary>Starts computing the masks that are not cached yet, one task per sequence; null when all are cached.</summary>
    public Task? Prepare(List<Sequence> sampling)
    {
        _pending.Clear();
        foreach (var seq in sampling)
            if (seq.Grammar is { } m && m.NeedsWalk(Remaining(seq), EndAllowed(seq))) _pending.Add((m, Remaining(seq), EndAllowed(seq)));
        if (_pending.Count == 0) return null;
        var work = _pending.ToArray();
        return Task.Run(() =>
        {
            long start = Stopwatch.GetTimestamp();
            Parallel.ForEach(work, w => w.Matcher.Mask(w.Remaining, w.EndAllowed));
            Timings.Add(Stopwatch.GetTimestamp() - start, 0, work.Length);
        });
    }

    /// <summary>The mask for <paramref name="seq"/>'s next token, budgeted by what it has left.</summary>
    public ReadOnlySpan<ulong> Mask(Sequence seq, GrammarMatcher matcher) => matcher.Mask(Remaining(seq), EndAllowed(seq));

    /// <summary>Tokens the sequence may still sample, the next one included: max_tokens and the context both bound it.</summary>
    private int Remaining(Sequence seq) => Math.Min(seq.Request.Spec.MaxTokens - seq.Generated, maxContext - seq.Count);

    /// <summary>Until min_tokens, end-of-sequence is masked out of the logits (see <see cref="LogitAdjustments"/>).</summary>
    private static bool EndAllowed(Sequence seq) => seq.Generated >= seq.Request.Spec.MinTokens || seq.Request.Spec.IgnoreEos;

    public void Record(long ticks) => Timings.Add(ticks, 1, 0);
}
