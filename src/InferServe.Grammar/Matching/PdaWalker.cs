using InferServe.Grammar.Compilation;

namespace InferServe.Grammar.Matching;

/// <summary>
/// Runs the pushdown automaton. Stacks are parent-linked nodes in an arena that is truncated on backtrack, so a
/// mask walk over the sorted vocabulary allocates nothing: the states at each depth of the current token prefix
/// sit in one item array, and moving to the next token rewinds to the depth of the shared prefix. Every stack in
/// a state has a byte set on top; item -1 is the empty stack (the grammar has ended). Each node also carries its
/// stack's distance to the end (its frames' distances summed, set as it is pushed), so a token's closing cost is
/// read off its items without walking their stacks. One walker per thread.
/// </summary>
internal sealed class PdaWalker
{
    private const int Accept = -1;
    [ThreadStatic] private static PdaWalker? t_current;

    private GrammarProgram _g = null!;
    private int[] _code = [];
    private int[] _distance = [];
    private int[] _pos = new int[1024], _parent = new int[1024], _dist = new int[1024];
    private int _nodes;
    private int[] _items = new int[1024];
    private int _count;
    private int[] _depthEnd = new int[64], _nodeMark = new int[64];
    private readonly List<int> _stack = [];

    public static PdaWalker For(GrammarProgram program)
    {
        var w = t_current ??= new PdaWalker();
        w._g = program;
        w._code = program.Code;
        w._distance = program.DistanceToEnd;
        return w;
    }

    /// <summary>The start state: the root rule expanded.</summary>
    public int[][] Initial()
    {
        _nodes = _count = 0;
        foreach (int alt in _g.RuleAlternatives[_g.Root]) Expand(alt, -1, 0);
        return Canonical(0, _count);
    }

    /// <summary>The state after <paramref name="bytes"/>, or null if the grammar rejects them.</summary>
    public int[][]? Advance(int[][] state, ReadOnlySpan<byte> bytes)
    {
        Load(state);
        int start = 0;
        foreach (byte b in bytes)
        {
            int end = _count;
            Step(start, end, b);
            if (_count == end) return null;
            start = end;
        }
        return Canonical(start, _count);
    }

    /// <summary>
    /// Sets the bit of every token whose bytes the grammar accepts from <paramref name="state"/> and that leaves at
    /// most <paramref name="limit"/> tokens to stop (see <see cref="TokensToStop"/>). Returns how many bits were set
    /// and the largest tokens-to-stop among them.
    /// </summary>
    public (int Allowed, int MaxTokensToStop) FillMask(int[][] state, TokenVocabulary vocab, Span<ulong> mask, int limit = int.MaxValue)
    {
        mask.Clear();
        Load(state);
        if (_depthEnd.Length < vocab.MaxLength + 2)
        {
            _depthEnd = new int[vocab.MaxLength + 2];
            _nodeMark = new int[vocab.MaxLength + 2];
        }
        _depthEnd[0] = _count;
        _nodeMark[0] = _nodes;
        var ids = vocab.SortedIds;
        var lcp = vocab.Lcp;
        var bytes = vocab.Bytes;
        int n = ids.Length, valid = 0, allowed = 0, maxToStop = 0;
        for (int i = 0; i < n;)
        {
            int len = vocab.Lengths[i], off = vocab.Offsets[i];
            int d = Math.Min(lcp[i], valid);
            bool alive = true;
            while (d < len)
            {
                _count = _depthEnd[d];
                _nodes = _nodeMark[d];
                Step(d == 0 ? 0 : _depthEnd[d - 1], _depthEnd[d], bytes[off + d]);
                if (_count == _depthEnd[d])
                {
                    alive = false;
                    break;
                }
                d++;
                _depthEnd[d] = _count;
                _nodeMark[d] = _nodes;
            }
            if (alive)
            {
                int toStop = TokensToStop(_depthEnd[len - 1], _depthEnd[len]);
                if (toStop <= limit)
                {
                    mask[ids[i] >> 6] |= 1UL << (ids[i] & 63);
                    allowed++;
                    if (toStop > maxToStop) maxToStop = toStop;
                }
                valid = len;
                i++;
            }
            else
            {
                // Every following token that shares this dead prefix (d + 1 bytes) is dead too.
                valid = d;
                int j = i + 1;
                while (j < n && lcp[j] > d) j++;
                i = j;
            }
        }
        return (allowed, maxToStop);
    }

    /// <summary>
    /// The fewest tokens that finish the output from the state in items [start, end): 0 once the grammar has
    /// terminated, else its distance in bytes (every byte is a token at worst) plus the end-of-sequence token.
    /// </summary>
    private int TokensToStop(int start, int end)
    {
        if (end - start == 1 && _items[start] == Accept) return 0;
        int min = GrammarProgram.Unreachable;
        for (int i = start; i < end; i++)
        {
            int x = _items[i];
            int d = x == Accept ? 0 : _dist[x];
            if (d < min) min = d;
        }
        return EndDistances.Add(min, 1);
    }

    private void Load(int[][] state)
    {
        _nodes = _count = 0;
        foreach (var stack in state)
        {
            if (stack.Length == 0)
            {
                AddItem(Accept);
                continue;
            }
            int parent = -1;
            foreach (int p in stack) parent = NewNode(p, parent);
            AddItem(parent);
        }
    }

    /// <summary>Advances items [start, end) over one byte, appending the new state.</summary>
    private void Step(int start, int end, byte b)
    {
        int from = _count;
        for (int i = start; i < end; i++)
        {
            int node = _items[i];
            if (node == Accept) continue;
            int p = _pos[node];
            int set = _code[p];
            if ((_g.Sets[set * 4 + (b >> 6)] & (1UL << (b & 63))) != 0) Expand(p + 1, _parent[node], from);
        }
    }

    /// <summary>Pushes position <paramref name="pos"/> onto stack <paramref name="parent"/> and expands until every top is a byte set.</summary>
    private void Expand(int pos, int parent, int from)
    {
        int e = _code[pos];
        if (e >= 0)
        {
            for (int i = from; i < _count; i++)
            {
                int x = _items[i];
                if (x != Accept && _pos[x] == pos && _parent[x] == parent) return;
            }
            AddItem(NewNode(pos, parent));
        }
        else if (e == GrammarProgram.End)
        {
            if (parent >= 0)
            {
                Expand(_pos[parent], _parent[parent], from);
                return;
            }
            for (int i = from; i < _count; i++)
                if (_items[i] == Accept) return;
            AddItem(Accept);
        }
        else
        {
            // A reference last in its alternative returns straight to the caller: no frame, so right recursion stays flat.
            int next = _code[pos + 1] == GrammarProgram.End ? parent : NewNode(pos + 1, parent);
            foreach (int alt in _g.RuleAlternatives[GrammarProgram.RuleOf(e)]) Expand(alt, next, from);
        }
    }

    private int NewNode(int pos, int parent)
    {
        if (_nodes == _pos.Length)
        {
            Array.Resize(ref _pos, _nodes * 2);
            Array.Resize(ref _parent, _nodes * 2);
            Array.Resize(ref _dist, _nodes * 2);
        }
        _pos[_nodes] = pos;
        _parent[_nodes] = parent;
        _dist[_nodes] = parent < 0 ? _distance[pos] : EndDistances.Add(_distance[pos], _dist[parent]);
        return _nodes++;
    }

    private void AddItem(int item)
    {
        if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
        _items[_count++] = item;
    }

    /// <summary>The items [start, end) as sorted, distinct stacks of positions (bottom first): equal states compare equal.</summary>
    private int[][] Canonical(int start, int end)
    {
        var stacks = new List<int[]>(end - start);
        for (int i = start; i < end; i++)
        {
            _stack.Clear();
            for (int node = _items[i]; node >= 0; node = _parent[node]) _stack.Add(_pos[node]);
            _stack.Reverse();
            stacks.Add([.. _stack]);
        }
        stacks.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        for (int i = stacks.Count - 1; i > 0; i--)
            if (stacks[i].AsSpan().SequenceEqual(stacks[i - 1])) stacks.RemoveAt(i);
        return [.. stacks];
    }
}
