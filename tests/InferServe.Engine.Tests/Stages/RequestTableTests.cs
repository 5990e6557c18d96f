using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Grammar;

namespace InferServe.Engine.Tests.Stages;

/// <summary>The request table: the queue limit, admission into the scheduler, and finishing (blocks back, stream complete).</summary>
public sealed class RequestTableTests
{
    private static GenerationRequest Request(int n = 1) =>
        new() { PromptTokens = StageRig.Prompt(30, 7), MaxTokens = 64, N = n, IgnoreEos = true, Sampling = new SamplingParams { Temperature = 0 } };

    [Fact(Timeout = 60_000)]
    public void The_queue_limit_counts_requests_until_their_first_token()
    {
        using var rig = new StageRig(maxQueue: 2);
        var first = rig.Admit(Request());
        rig.Admit(Request());
        Assert.False(rig.Requests.TryQueue()); // full: the third is refused and not counted

        rig.Step(); // both get their first token and leave the queue
        Assert.Equal(1, first.CompletionTokens);
        Assert.True(rig.Requests.TryQueue());
    }

    [Fact(Timeout = 60_000)]
    public void Admission_queues_one_choice_per_request_the_others_come_from_the_fork()
    {
        using var rig = new StageRig();
        var state = rig.Admit(Request(n: 3));

        var seq = Assert.Single(state.Sequences);
        Assert.Equal(SequenceStatus.Waiting, seq.Status);
        Assert.Equal(1, rig.Scheduler.WaitingCount);
        Assert.Equal(1, state.Unfinished);
    }

    [Fact(Timeout = 60_000)]
    public void A_grammar_that_cannot_compile_fails_the_request_at_admission()
    {
        using var rig = new StageRig();
        var state = rig.Admit(Request() with { Grammar = new GrammarSpec(GrammarKind.Gbnf, "root ::= missing") });

        var e = Assert.Single(StageRig.Events(state));
        Assert.Equal(FinishReason.Error, e.Finish);
        Assert.True(state.Events.Reader.Completion.IsCompleted);
        Assert.Equal(0, rig.Scheduler.WaitingCount);
    }

    [Fact(Timeout = 60_000)]
    public void Aborting_ends_every_choice_frees_its_blocks_and_completes_the_stream()
    {
        using var rig = new StageRig();
        var state = rig.Admit(Request(n: 2));
        rig.Step();
        Assert.NotEqual(rig.Kv.Pool.NumBlocks, rig.Kv.Pool.FreeCount);
        StageRig.Events(state);

        rig.Requests.Abort(state);

        var events = StageRig.Events(state);
        Assert.Equal([0, 1], events.Select(e => e.Index).Order());
        Assert.All(events, e => Assert.Equal(FinishReason.Abort, e.Finish));
        Assert.True(state.Events.Reader.Completion.IsCompleted);
        Assert.Equal(0, rig.Scheduler.RunningCount);
        Assert.Equal(rig.Kv.Pool.NumBlocks, rig.Kv.Pool.FreeCount);
    }

    [Fact(Timeout = 60_000)]
    public void When_nothing_fits_even_an_empty_cache_the_first_waiting_request_fails()
    {
        using var rig = new StageRig();
        var state = rig.Admit(Request());
        Assert.True(rig.Kv.BlocksFor(30) <= rig.Kv.Pool.NumBlocks);

        rig.Requests.FailFirstWaiting();

        Assert.Equal(FinishReason.Error, Assert.Single(StageRig.Events(state)).Finish);
        Assert.Equal(0, rig.Scheduler.WaitingCount);
    }
}
