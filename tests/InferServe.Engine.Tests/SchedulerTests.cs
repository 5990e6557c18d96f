using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Scheduling;

namespace InferServe.Engine.Tests;

/// <summary>The scheduler alone, over a real KV cache manager: token budget, chunked prefill, the sequence cap, priorities, preemption.</summary>
public sealed class SchedulerTests
{
    private static readonly KvCacheSpec Spec = new(NumLayers: 1, NumKvHeads: 1, HeadDim: 8, BlockSize: 4);
    private static long _arrival;

    private static Sequence Waiting(Scheduler scheduler, int promptLength, int priority = 0, int n = 1)
    {
        var request = new RequestState(new GenerationRequest { PromptTokens = [.. Enumerable.Range(1, promptLength)], MaxTokens = 64, Priority = priority, N = n },
            arrivalTicks: ++_arrival);
        var seq = new Sequence(request, 0, [.. Enumerable.Range(1, promptLength)], promptLength, new SequenceKv(default), 0, output: null!);
        request.Sequences.Add(seq);
        scheduler.Enqueue(seq);
        return seq;
    }

    /// <summary>What the engine does after a step: the chunk's KV is computed, and a sampling chunk appends a token.</summary>
    private static void Complete(IEnumerable<ScheduledChunk> plan)
    {
        foreach (var c in plan.ToList())
        {
            c.Sequence.NumComputed = c.Start + c.Count;
            if (c.Samples) c.Sequence.Append(7);
        }
    }

    private static (Sequence, int, int)[] Chunks(List<ScheduledChunk> plan) => [.. plan.Select(c => (c.Sequence, c.Start, c.Count))];

    [Fact(Timeout = 30_000)]
    public void A_long_prompt_is_prefilled_in_chunks_of_the_token_budget_and_samples_only_at_its_end()
    {
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 8, MaxSeqs = 4 }, new KvCacheManager(Spec, 16));
        var seq = Waiting(scheduler, 20);
        var plan = scheduler.Schedule();
        Assert.Equal([(seq, 0, 8)], Chunks(plan));
        Assert.False(plan[0].Samples);
        Complete(plan);
        plan = scheduler.Schedule();
        Assert.Equal([(seq, 8, 8)], Chunks(plan));
        Complete(plan);
        plan = scheduler.Schedule();
        Assert.Equal([(seq, 16, 4)], Chunks(plan));
        Assert.True(plan[0].Samples);
        Complete(plan);
        Assert.Equal([(seq, 20, 1)], Chunks(scheduler.Schedule())); // then one decode token per step
    }

    [Fact(Timeout = 30_000)]
    public void Running_decodes_are_served_before_waiting_prompts_take_the_rest_of_the_budget()
    {
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 8, MaxSeqs = 4 }, new KvCacheManager(Spec, 16));
        var first = Waiting(scheduler, 3);
        Complete(scheduler.Schedule());
        var second = Waiting(scheduler, 30);
        Assert.Equal([(first, 3, 1), (second, 0, 7)], Chunks(scheduler.Schedule()));
    }

    [Fact(Timeout = 30_000)]
    public void No_more_sequences_run_than_the_cap_counting_every_choice_of_a_request()
    {
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 64, MaxSeqs = 2 }, new KvCacheManager(Spec, 32));
        var a = Waiting(scheduler, 2);
        var b = Waiting(scheduler, 2, n: 2); // needs two seats
        Waiting(scheduler, 2);
        var plan = scheduler.Schedule();
        Assert.Equal([a], plan.Select(p => p.Sequence)); // b does not fit beside a, and the queue stays in order
        Assert.Equal(2, scheduler.WaitingCount);
        Complete(plan);
        scheduler.Remove(a); // finished
        Assert.Equal(b, scheduler.Schedule()[0].Sequence);
    }

    [Fact(Timeout = 30_000)]
    public void Lower_priority_values_are_admitted_first_then_arrival_order()
    {
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 64, MaxSeqs = 2, PriorityAgingSeconds = 0 }, new KvCacheManager(Spec, 32));
        var late = Waiting(scheduler, 2, priority: 5);
        var urgent = Waiting(scheduler, 2, priority: -1);
        var normal = Waiting(scheduler, 2, priority: 0);
        Assert.Equal([urgent, normal], scheduler.Schedule().Select(p => p.Sequence));
        Assert.Equal(1, scheduler.WaitingCount);
        Assert.Equal(SequenceStatus.Waiting, late.Status);
    }

    [Fact(Timeout = 30_000)]
    public void Out_of_blocks_the_least_urgent_running_sequence_is_preempted_and_requeued_with_its_blocks_freed()
    {
        var kv = new KvCacheManager(Spec, 4);
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 64, MaxSeqs = 4, PriorityAgingSeconds = 0 }, kv);
        var urgent = Waiting(scheduler, 8, priority: 0); // two full blocks
        var lax = Waiting(scheduler, 8, priority: 1);    // two full blocks: the pool is full
        Complete(scheduler.Schedule());
        Assert.Equal(0, kv.Pool.FreeCount);
        var preempted = new List<Sequence>();
        scheduler.Preempted += preempted.Add;

        // Both need a third block for their next token; only the urgent one can have it.
        var plan = scheduler.Schedule();
        Assert.Equal([(urgent, 8, 1)], Chunks(plan));
        Assert.Equal([lax], preempted);
        Assert.Equal(SequenceStatus.Waiting, lax.Status);
        Assert.Equal(0, lax.NumComputed);
        Assert.Equal(0, lax.Kv.Table.Count);
        Assert.Equal(1, scheduler.Preemptions);
        Assert.Equal(1, scheduler.WaitingCount);
    }
}
