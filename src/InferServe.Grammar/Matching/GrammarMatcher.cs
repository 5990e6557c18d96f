namespace InferServe.Grammar.Matching;

/// <summary>
/// One sequence's position in a grammar: the mask of allowed next tokens, and advancing by the token sampled.
/// It holds only a state id, so forking (n &gt; 1) is a copy and replaying output tokens rebuilds it exactly.
/// Given the tokens left, the mask also steers to the shortest valid ending once the budget runs short, so
/// an output that can finish in time always does (never JSON cut off at max_tokens).
/// </summary>
public sealed class GrammarMatcher(CompiledGrammar grammar)
{
    // The last budgeted mask: one buffer per matcher, filled only in the last stretch before the budget runs out.
    private ulong[]? _budgeted;
    private (int State, int Limit, bool EndAllowed) _budgetedFor = (-1, 0, false);
    private bool _budgetedFits;

    public CompiledGrammar Grammar { get; } = grammar;
    public int State { get; private set; } = grammar.InitialState;

    /// <summary>Bit i set: token i may come next (end-of-sequence ids only where the grammar can end).</summary>
    public ReadOnlySpan<ulong> Mask() => Grammar.Mask(State);

    /// <summary>
    /// The mask for a sequence that may sample at most <paramref name="remainingTokens"/> more tokens (this one
    /// included): a token stays allowed only if the output can still stop after it within the rest. Where even
    /// the shortest ending no longer fits, or nothing else would remain (<paramref name="endAllowed"/> false:
    /// min_tokens holds end-of-sequence back), it is the plain mask: never a dead end.
    /// </summary>
    public ReadOnlySpan<ulong> Mask(int remainingTokens, bool endAllowed = true)
    {
        var entry = Grammar.Entry(State);
        int limit = remainingTokens - 1;
        // The common case, straight from the cache: every allowed token leaves room to finish.
        if (entry.MaxTokensToStopAfter <= limit || entry.TokensToStop > remainingTokens) return entry.Bits;
        if (_budgetedFor != (State, limit, endAllowed))
        {
            _budgeted ??= new ulong[Grammar.Vocabulary.MaskWords];
            _budgetedFits = Grammar.FillBudgetedMask(State, limit, endAllowed, _budgeted);
            _budgetedFor = (State, limit, endAllowed);
        }
        if (!_budgetedFits) return entry.Bits;
        BudgetNarrowed = true;
        return _budgeted;
    }

    /// <summary>Whether <see cref="Mask(int, bool)"/> would walk the vocabulary (the state's mask is not cached, or the budget needs its own).</summary>
    public bool NeedsWalk(int remainingTokens, bool endAllowed = true)
    {
        if (!Grammar.TryGetCached(State, out var entry)) return true;
        int limit = remainingTokens - 1;
        return entry.MaxTokensToStopAfter > limit && entry.TokensToStop <= remainingTokens && _budgetedFor != (State, limit, endAllowed);
    }

    /// <summary>The token budget has narrowed this matcher's mask at least once (its output is being closed early).</summary>
    public bool BudgetNarrowed { get; private set; }

    /// <summary>The fewest tokens that finish the output from here (0 once terminated).</summary>
    public int TokensToStop => Grammar.TokensToStop(State);

    public bool IsMaskCached => Grammar.IsMaskCached(State);
    public bool CanEnd => Grammar.CanEnd(State);
    /// <summary>Complete, and nothing more may follow: the sequence can stop without sampling an end token.</summary>
    public bool IsTerminated => Grammar.IsTerminated(State);

    /// <summary>Advances over <paramref name="token"/>; false (state unchanged) if the grammar does not allow it.</summary>
    public bool Accept(int token)
    {
        if (Grammar.Vocabulary.IsEos(token)) return CanEnd;
        int next = Grammar.Advance(State, token);
        if (next < 0) return false;
        State = next;
        return true;
    }

    public GrammarMatcher Clone() => new(Grammar) { State = State };
}
