using System.Collections.Concurrent;
using InferServe.Grammar.Compilation;

namespace InferServe.Grammar.Matching;

/// <summary>
/// A grammar bound to a vocabulary, shared by every sequence that uses it. Distinct automaton states are interned
/// to ids, and token masks and transitions are cached per state: decoding under a grammar revisits a small set of
/// states (inside a string, after a key...), so the mask walk runs once per state. Thread-safe, because one
/// step's masks are built in parallel. Each cached mask also records how many tokens its state and its allowed
/// tokens need at least to finish (see <see cref="TokensToStop"/>), so a sequence can tell from the cache alone
/// whether its token budget still leaves every allowed token room to close.
/// </summary>
public sealed class CompiledGrammar
{
    /// <summary>Cached masks stop growing at this many bytes per grammar; later states are computed each time.</summary>
    private const long MaskCacheBytes = 64L << 20;
    private const int MaxStates = 200_000;

    private readonly object _lock = new();
    private readonly List<int[][]> _states = [];
    private readonly Dictionary<int[][], int> _ids = new(StateComparer.Instance);
    private readonly ConcurrentDictionary<int, StateMask> _masks = new();
    private readonly ConcurrentDictionary<long, int> _transitions = new();
    private readonly int _maxMasks;

    public GrammarProgram Program { get; }
    public TokenVocabulary Vocabulary { get; }
    public int InitialState { get; }

    public CompiledGrammar(GrammarProgram program, TokenVocabulary vocabulary)
    {
        Program = program;
        Vocabulary = vocabulary;
        _maxMasks = (int)Math.Max(16, MaskCacheBytes / (vocabulary.MaskWords * 8L));
        InitialState = Intern(PdaWalker.For(program).Initial());
    }

    internal int StateCount { get { lock (_lock) return _states.Count; } }

    public bool IsMaskCached(int state) => _masks.ContainsKey(state);

    /// <summary>The grammar may end here (an end-of-sequence token is allowed).</summary>
    public bool CanEnd(int state) => Stacks(state) is { Length: > 0 } s && s[0].Length == 0;

    /// <summary>The grammar has ended and nothing more can follow.</summary>
    public bool IsTerminated(int state) => Stacks(state) is { Length: 1 } s && s[0].Length == 0;

    /// <summary>Bit i set: token i is allowed next. Cached per state.</summary>
    public ulong[] Mask(int state) => Entry(state).Bits;

    /// <summary>
    /// The fewest bytes that complete the grammar from <paramref name="state"/>: 0 where it can end,
    /// <see cref="GrammarProgram.Unreachable"/> where it never can.
    /// </summary>
    public int MinBytesToEnd(int state) => MinBytesToEnd(Stacks(state));

    /// <summary>
    /// The fewest tokens that finish an output from <paramref name="state"/>, counting one token per byte (every
    /// byte is a token in byte-level BPE and SentencePiece byte fallback): 0 once terminated, else
    /// <see cref="MinBytesToEnd(int)"/> plus the end-of-sequence token.
    /// </summary>
    public int TokensToStop(int state) => Entry(state).TokensToStop;

    /// <summary>The state's mask with its closing costs; computed (and cached while there is room) on first use.</summary>
    internal StateMask Entry(int state)
    {
        if (_masks.TryGetValue(state, out var entry)) return entry;
        var bits = new ulong[Vocabulary.MaskWords];
        var stacks = Stacks(state);
        var (_, maxToStop) = PdaWalker.For(Program).FillMask(stacks, Vocabulary, bits);
        if (stacks.Length > 0 && stacks[0].Length == 0)
            foreach (int eos in Vocabulary.EosIds) bits[eos >> 6] |= 1UL << (eos & 63);
        entry = new StateMask(bits, TokensToStop(stacks), maxToStop);
        if (_masks.Count < _maxMasks) _masks.TryAdd(state, entry);
        return entry;
    }

    internal bool TryGetCached(int state, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out StateMask entry) => _masks.TryGetValue(state, out entry);

    /// <summary>
    /// Fills <paramref name="mask"/> with the tokens allowed from <paramref name="state"/> that leave at most
    /// <paramref name="limit"/> tokens to stop, plus end-of-sequence where the grammar can end. False when nothing
    /// but a refused end-of-sequence (<paramref name="endAllowed"/> false) would be left.
    /// </summary>
    internal bool FillBudgetedMask(int state, int limit, bool endAllowed, Span<ulong> mask)
    {
        var stacks = Stacks(state);
        var (allowed, _) = PdaWalker.For(Program).FillMask(stacks, Vocabulary, mask, limit);
        if (stacks.Length > 0 && stacks[0].Length == 0)
        {
            foreach (int eos in Vocabulary.EosIds) mask[eos >> 6] |= 1UL << (eos & 63);
            if (endAllowed) allowed += Vocabulary.EosIds.Length;
        }
        return allowed > 0;
    }

    private int MinBytesToEnd(int[][] stacks)
    {
        var distance = Program.DistanceToEnd;
        int min = GrammarProgram.Unreachable;
        foreach (var stack in stacks)
        {
            int sum = 0;
            foreach (int p in stack) sum = EndDistances.Add(sum, distance[p]);
            min = Math.Min(min, sum);
        }
        return min;
    }

    private int TokensToStop(int[][] stacks) =>
        stacks is [{ Length: 0 }] ? 0 : EndDistances.Add(MinBytesToEnd(stacks), 1);

    /// <summary>The state after <paramref name="token"/>, or -1 if the grammar rejects it. End-of-sequence tokens are not advanced over.</summary>
    public int Advance(int state, int token)
    {
        long key = ((long)state << 32) | (uint)token;
        if (_transitions.TryGetValue(key, out int next)) return next;
        var bytes = Vocabulary.TokenBytes(token);
        if (bytes.IsEmpty) return -1;
        var stacks = PdaWalker.For(Program).Advance(Stacks(state), bytes);
        next = stacks is null ? -1 : Intern(stacks);
        _transitions.TryAdd(key, next);
        return next;
    }

    private int[][] Stacks(int state)
    {
        lock (_lock) return _states[state];
    }

    private int Intern(int[][] stacks)
    {
        lock (_lock)
        {
            if (_ids.TryGetValue(stacks, out int id)) return id;
            if (_states.Count >= MaxStates) throw new GrammarException($"The grammar reached {MaxStates} distinct states; it is too ambiguous to run.");
            id = _states.Count;
            _states.Add(stacks);
            _ids[stacks] = id;
            return id;
        }
    }

    private sealed class StateComparer : IEqualityComparer<int[][]>
    {
        public static readonly StateComparer Instance = new();

        public bool Equals(int[][]? a, int[][]? b)
        {
            if (a is null || b is null || a.Length != b.Length) return a == b;
            for (int i = 0; i < a.Length; i++)
                if (!a[i].AsSpan().SequenceEqual(b[i])) return false;
            return true;
        }

        public int GetHashCode(int[][] state)
        {
            var h = new HashCode();
            foreach (var stack in state)
            {
                h.Add(stack.Length);
                foreach (int p in stack) h.Add(p);
            }
            return h.ToHashCode();
        }
    }
}

/// <summary>
/// A state's token mask, the tokens it needs at least to finish, and the most that any allowed token leaves
/// needing (end-of-sequence leaves none).
/// </summary>
internal sealed record StateMask(ulong[] Bits, int TokensToStop, int MaxTokensToStopAfter);
