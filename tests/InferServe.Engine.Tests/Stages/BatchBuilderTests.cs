using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Engine.Scheduling;

namespace InferServe.Engine.Tests.Stages;

/// <summary>The batch builder alone, over the real scheduler and KV cache manager: how a plan becomes one flattened step.</summary>
public sealed class BatchBuilderTests
{
    private static readonly KvCacheSpec Spec = new(NumLayers: 1, NumKvHeads: 1, HeadDim: 8, BlockSize: 4);

    private static Sequence Waiting(Scheduler scheduler, int[] prompt, long arrival)
    {
        var request = new RequestState(new GenerationRequest { PromptTokens = prompt, MaxTokens = 64 }, arrivalTicks: arrival);
        var seq = new Sequence(request, 0, prompt, prompt.Length, new SequenceKv(default), 0, output: null!);
        request.Sequences.Add(seq);
        scheduler.Enqueue(seq);
        return seq;
    }

    [Fact(Timeout = 30_000)]
    public void A_mixed_step_lays_out_a_decode_row_then_a_prefill_chunk_with_their_positions_contexts_and_block_tables()
    {
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 8, MaxSeqs = 4 }, new KvCacheManager(Spec, 16));
        var builder = new BatchBuilder(maxTokens: 8, maxSeqs: 4);
        int[] shortPrompt = [11, 12, 13], longPrompt = [.. Enumerable.Range(100, 20)];
        var decoding = Waiting(scheduler, shortPrompt, 1);
        builder.Build(scheduler.Schedule());
        scheduler.Computed();
        decoding.Append(14); // what the output processor does after the prompt's step
        var prefilling = Waiting(scheduler, longPrompt, 2);

        var plan = scheduler.Schedule();
        builder.Build(plan);

        // The decode computes its one new token; the prompt takes the rest of the 8-token budget.
        Assert.Equal([14, .. longPrompt[..7]], builder.Tokens.ToArray());
        var batch = builder.Attention;
        Assert.Equal(8, batch.NumTokens);
        Assert.Equal(2, batch.NumSeqs);
        Assert.Equal([0, 1, 1, 1, 1, 1, 1, 1], batch.TokenSeq[..8]);
        Assert.Equal([3, 0, 1, 2, 3, 4, 5, 6], batch.TokenPosition[..8]);
        Assert.Equal([4, 7], batch.ContextLength[..2]);
        Assert.Same(decoding.Kv.Table.Blocks, batch.BlockTables[0]);
        Assert.Same(prefilling.Kv.Table.Blocks, batch.BlockTables[1]);
        Assert.Equal([0, 1], [builder.ChunkRow(0), builder.ChunkRow(1)]);
        // Only the decode samples: the prompt chunk does not reach the prompt's end, so no logits are wanted for it.
        Assert.Equal([0], builder.LogitRows.ToArray());
        Assert.Equal([decoding], builder.Sampling);
        Assert.Equal(7, builder.PromptTokens);
    }

    [Fact(Timeout = 30_000)]
    public void The_chunk_that_ends_a_prompt_samples_at_its_last_row_and_every_step_starts_from_an_empty_batch()
    {
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 8, MaxSeqs = 4 }, new KvCacheManager(Spec, 16));
        var builder = new BatchBuilder(maxTokens: 8, maxSeqs: 4);
        var first = Waiting(scheduler, [.. Enumerable.Range(1, 5)], 1);
        var second = Waiting(scheduler, [.. Enumerable.Range(50, 3)], 2);

        builder.Build(scheduler.Schedule());
        Assert.Equal([4, 7], builder.LogitRows.ToArray()); // each prompt's last token
        Assert.Equal([first, second], builder.Sampling);
        Assert.Equal(8, builder.PromptTokens);
        long version = builder.Attention.Version;
        scheduler.Computed();
        first.Append(6);
        second.Append(53);

        builder.Build(scheduler.Schedule());
        Assert.NotEqual(version, builder.Attention.Version); // per-step derived state (attention) is recomputed
        Assert.Equal([6, 53], builder.Tokens.ToArray());
        Assert.Equal([0, 1], builder.LogitRows.ToArray());
        Assert.Equal(0, builder.PromptTokens);
        Assert.Equal([6, 4], builder.Attention.ContextLength[..2]);
    }

    [Fact(Timeout = 30_000)]
    public void Building_a_step_allocates_nothing()
    {
        var scheduler = new Scheduler(new SchedulerOptions { MaxBatchedTokens = 8, MaxSeqs = 4 }, new KvCacheManager(Spec, 16));
        var builder = new BatchBuilder(maxTokens: 8, maxSeqs: 4);
        var a = Waiting(scheduler, [1, 2, 3], 1);
        var b = Waiting(scheduler, [4, 5, 6], 2);
        builder.Build(scheduler.Schedule());
        scheduler.Computed();
        a.Append(7);
        b.Append(8);
        var plan = scheduler.Schedule();

        long before = GC.GetAllocatedBytesForCurrentThread();
        builder.Build(plan);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal([7, 8], builder.Tokens.ToArray());
    }
}
