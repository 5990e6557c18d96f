namespace InferServe.Grammar.Matching;

/// <summary>
/// One sequence's position in a grammar: the mask of allowed next tokens, and advancing by the token sampled.
/// It holds only a state id, so forking (n &gt; 1) is a copy and replaying output tokens rebuilds it exactly.
/// </summary>
public sealed class GrammarMatcher(CompiledGrammar grammar)
{
    public CompiledGrammar Grammar { get; } = grammar;
    public int State { get; private set; } = grammar.InitialState;

    /// <summary>Bit i set: token i may come next (end-of-sequence ids only where the grammar can end).</summary>
    public ReadOnlySpan<ulong> Mask() => Grammar.Mask(State);

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
