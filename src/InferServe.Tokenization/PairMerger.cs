namespace InferServe.Tokenization;

/// <summary>How a tokenizer ranks merging two adjacent symbols: lower priority merges first.</summary>
internal interface IMergeRules
{
    bool TryGetMerge(int left, int right, out float priority, out int merged);
}

/// <summary>
/// Repeatedly merges the adjacent pair with the best priority (leftmost on ties) until none applies.
/// A priority queue over a linked list of symbols gives the classic O(n²) loop's result in O(n log n).
/// Shared by BPE (priority = merge rank) and llama2.c (priority = −score).
/// </summary>
internal static class PairMerger
{
    public static int[] Merge<TRules>(List<int> initial, TRules rules) where TRules : IMergeRules
    {
        int n = initial.Count;
        if (n < 2) return [.. initial];

        var ids = initial.ToArray();
        var next = new int[n];
        var prev = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            alive[i] = true;
        }

        var queue = new PriorityQueue<(int Left, int Right, int LeftId, int RightId, int MergedId), (float Priority, int Pos)>(n);
        void TryQueue(int left, int right)
        {
            if (rules.TryGetMerge(ids[left], ids[right], out var priority, out var merged))
                queue.Enqueue((left, right, ids[left], ids[right], merged), (priority, left));
        }

        for (int i = 0; i + 1 < n; i++) TryQueue(i, i + 1);
        while (queue.TryDequeue(out var m, out _))
        {
            if (!alive[m.Left] || !alive[m.Right] || next[m.Left] != m.Right || ids[m.Left] != m.LeftId || ids[m.Right] != m.RightId)
                continue; // stale: a neighbour changed since it was queued

            ids[m.Left] = m.MergedId;
            alive[m.Right] = false;
            next[m.Left] = next[m.Right];
            if (next[m.Left] >= 0)
            {
                prev[next[m.Left]] = m.Left;
                TryQueue(m.Left, next[m.Left]);
            }
            if (prev[m.Left] >= 0) TryQueue(prev[m.Left], m.Left);
        }

        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(ids[i]);
        return [.. result];
    }
}
