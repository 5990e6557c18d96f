using System.Diagnostics;
using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;

namespace InferServe.Engine.Scheduling;

/// <summary>What one step computes for one sequence: tokens [Start, Start + Count).</summary>
internal readonly record struct ScheduledChunk(Sequence Sequence, int Start, int Count)
{
    /// <summary>The chunk ends at the sequence's last token, so the step samples the next one.</summary>
    public bool Samples => Start + Count == Sequence.Count;
}

/// <summary>
/// Iteration-level scheduling: each step serves running sequences first (one decode token each, or
/// their next prefill chunk), then admits waiting ones with chunked prefill, all within a token
/// budget and a sequence cap. When KV blocks run out, the least urgent running sequence is
/// preempted by recompute: its blocks are freed and it goes back to the waiting queue.
/// </summary>
internal sealed class Scheduler(SchedulerOptions options, KvCacheManager kv)
{
    private readonly List<Sequence> _waiting = [];
    private readonly List<Sequence> _running = [];
    private readonly List<ScheduledChunk> _plan = [];
    private long _now;



    public int RunningCount => _running.Count;
    public int WaitingCount => _waiting.Count;
    /// <summary>Seats held by sequences waiting for remote KV: they count toward the sequence cap.</summary>
    public int Reserved { get; set; }
    public long Preemptions { get; private set; }
    public IReadOnlyList<Sequence> Running => _running;
    public event Action<Sequence>? Preempted;
    /// <summary>A prefix-cache lookup on admission: tokens looked up and tokens found.</summary>
    public event Action<int, int>? PrefixLookup;

    public void Enqueue(Sequence seq)
    {
        seq.Status = SequenceStatus.Waiting;
        _waiting.Add(seq);
    }

    /// <summary>Adds a sequence that already holds KV blocks (an n>1 fork) straight to the running set.</summary>
    public void AddRunning(Sequence seq)
    {
        seq.Status = SequenceStatus.Running;
        _running.Add(seq);
    }

    /// <summary>Removes a finished or aborted sequence from whichever queue holds it.</summary>
    public void Remove(Sequence seq)
    {
        if (!_running.Remove(seq)) _waiting.Remove(seq);
    }

    // A List, not an interface: foreach over the plan then takes the struct enumerator (nothing allocated per step).
    public List<ScheduledChunk> Schedule()
    {
        _plan.Clear();
        int budget = options.MaxBatchedTokens;
        _now = Stopwatch.GetTimestamp();
        _running.Sort(ByUrgency);
        bool preempted = false;

        for (int i = 0; i < _running.Count && budget > 0; i++)
        {
            var seq = _running[i];
            int n = Math.Min(seq.Count - seq.NumComputed, budget);
            bool self = false;
            while (!kv.TryReserve(seq.Kv, seq.NumComputed, seq.NumComputed + n))
            {
                var victim = _running[^1];
                Preempt(victim);
                preempted = true;
                if (victim == seq)
                {
                    self = true;
                    break;
                }
            }
            if (self) break;
            _plan.Add(new ScheduledChunk(seq, seq.NumComputed, n));
            budget -= n;
        }

        // Admit waiting work only when nothing had to be preempted: memory is tight otherwise.
        if (!preempted && _waiting.Count > 0)
        {
            _waiting.Sort(ByUrgency);
            int admitted = 0;
            while (admitted < _waiting.Count && budget > 0)
            {
                var seq = _waiting[admitted];
                int needSeqs = seq.Request.Forked ? 1 : seq.Request.Spec.N;
                if (_running.Count + Reserved + needSeqs > options.MaxSeqs) break;
                int cached = 0;
                if (seq.Kv.Table.Count == 0 && seq.NumComputed == 0)
                {
                    cached = kv.AcquireCachedPrefix(seq.Kv, seq.Tokens);
                    PrefixLookup?.Invoke(seq.Count, cached);
                    seq.NumComputed = cached;
                }
                int n = Math.Min(seq.Count - seq.NumComputed, budget);
                if (!kv.TryReserve(seq.Kv, seq.NumComputed, seq.NumComputed + n))
                {
                    kv.Free(seq.Kv);
                    seq.NumComputed = 0;
                    break;
                }
                if (seq.Request.Sequences.Count == 1 && !seq.Request.Forked) seq.Request.CachedTokens = Math.Max(seq.Request.CachedTokens, cached);
                seq.Status = SequenceStatus.Running;
                seq.AdmittedTicks = Stopwatch.GetTimestamp();
                _running.Add(seq);
                _plan.Add(new ScheduledChunk(seq, seq.NumComputed, n));
                budget -= n;
                admitted++;
            }
            _waiting.RemoveRange(0, admitted);
        }
        return _plan;
    }

    /// <summary>The last plan ran: its chunks' KV is in the cache, and blocks it filled join the prefix cache.</summary>
    public void Computed()
    {
        foreach (var (seq, start, count) in _plan)
        {
            seq.NumComputed = start + count;
            kv.CacheFullBlocks(seq.Kv, seq.Tokens, seq.NumComputed);
        }
    }

    private void Preempt(Sequence seq)
    {
        _running.Remove(seq);
        kv.Free(seq.Kv);
        seq.NumComputed = 0;
        Preemptions++;
        Enqueue(seq);
        Preempted?.Invoke(seq);
    }

    /// <summary>Lower effective priority first; waiting time lowers it (aging); then FCFS.</summary>
    private int ByUrgency(Sequence a, Sequence b)
    {
        double pa = Effective(a, _now, options.PriorityAgingSeconds), pb = Effective(b, _now, options.PriorityAgingSeconds);
        int c = pa.CompareTo(pb);
        if (c != 0) return c;
        c = a.Request.ArrivalTicks.CompareTo(b.Request.ArrivalTicks);
        return c != 0 ? c : a.Index.CompareTo(b.Index);
    }

    private static double Effective(Sequence s, long now, double agingSeconds)
    {
        int priority = s.Request.Spec.Priority;
        if (agingSeconds <= 0) return priority;
        double waited = (now - s.Request.ArrivalTicks) / (double)Stopwatch.Frequency;
        return priority - Math.Floor(waited / agingSeconds);
    }
}
