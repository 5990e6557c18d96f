namespace InferServe.Grammar.Compilation;

/// <summary>
/// A grammar lowered to bytes: rules are alternatives of element sequences in one code array. An element is a
/// byte set (value ≥ 0, its index in <see cref="Sets"/>), a rule reference (value ≤ -2, rule <c>-2 - value</c>)
/// or the end of an alternative (-1). A pushdown automaton runs it with stacks of code positions.
/// </summary>
public sealed class GrammarProgram
{
    public const int End = -1;
    /// <summary>The distance of a position, rule or state that can never reach the end.</summary>
    public const int Unreachable = EndDistances.Infinite;
    private int[]? _distanceToEnd;

    public required int[] Code { get; init; }
    /// <summary>Per rule, the code positions where its alternatives start.</summary>
    public required int[][] RuleAlternatives { get; init; }
    /// <summary>256-bit byte sets, four words each.</summary>
    public required ulong[] Sets { get; init; }
    public required int Root { get; init; }

    /// <summary>Per code position, the fewest bytes that finish its alternative from there (<see cref="Unreachable"/> if none can).</summary>
    public int[] DistanceToEnd => _distanceToEnd ??= EndDistances.Compute(this);

    public static int RuleOf(int element) => -2 - element;

    public bool SetContains(int set, byte b) => (Sets[set * 4 + (b >> 6)] & (1UL << (b & 63))) != 0;
}
