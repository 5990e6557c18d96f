namespace InferServe.Grammar.Compilation;

/// <summary>
/// The fewest bytes from each code position to the end of its alternative: a byte set counts one, a rule
/// reference its rule's shortest alternative. Rule minimums are settled cheapest first (Knuth's generalisation
/// of Dijkstra to grammars), so recursion needs no repeated passes; a rule that can never end stays at <see cref="Infinite"/>.
/// </summary>
internal static class EndDistances
{
    public const int Infinite = int.MaxValue / 2;

    /// <summary>Both arguments at most <see cref="Infinite"/>, so the sum cannot overflow.</summary>
    public static int Add(int a, int b) => Math.Min(Infinite, a + b);

    public static int[] Compute(GrammarProgram g)
    {
        var code = g.Code;
        int rules = g.RuleAlternatives.Length;
        // Per alternative (by its start position): the bytes known so far and the references not yet settled.
        var starts = new List<int>();
        var ruleOfAlt = new List<int>();
        for (int r = 0; r < rules; r++)
        {
            foreach (int a in g.RuleAlternatives[r])
            {
                starts.Add(a);
                ruleOfAlt.Add(r);
            }
        }

        int alts = starts.Count;
        var partial = new int[alts];
        var pending = new int[alts];
        var uses = new List<int>?[rules];
        var queue = new PriorityQueue<int, int>();
        for (int i = 0; i < alts; i++)
        {
            for (int p = starts[i]; code[p] != GrammarProgram.End; p++)
            {
                if (code[p] >= 0)
                {
                    partial[i]++;
                }
                else
                {
                    pending[i]++;
                    (uses[GrammarProgram.RuleOf(code[p])] ??= []).Add(i);
                }
            }
            if (pending[i] == 0) queue.Enqueue(ruleOfAlt[i], partial[i]);
        }
        var ruleMin = new int[rules];
        Array.Fill(ruleMin, Infinite);
        var settled = new bool[rules];
        while (queue.TryDequeue(out int rule, out int cost))
        {
            if (settled[rule]) continue;
            settled[rule] = true;
            ruleMin[rule] = cost;
            if (uses[rule] is not { } users) continue;
            foreach (int i in users)
            {
                partial[i] = Add(partial[i], cost);
                if (--pending[i] == 0) queue.Enqueue(ruleOfAlt[i], partial[i]);
            }
        }
        var distance = new int[code.Length];
        for (int p = code.Length - 1; p >= 0; p--)
        {
            int e = code[p];
            distance[p] = e == GrammarProgram.End ? 0 : Add(e >= 0 ? 1 : ruleMin[GrammarProgram.RuleOf(e)], distance[p + 1]);
        }
        return distance;
    }
}
