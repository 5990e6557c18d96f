using InferServe.Contracts;

namespace InferServe.Engine.Tests.Stages;

/// <summary>The engine's step loop in steady decode: building the batch and running the model allocate nothing, in either runner mode.</summary>
[Collection(OrtPoolAlone.Name)]
public sealed class StepLoopAllocationTests
{
    private static readonly SamplingParams Greedy = new() { Temperature = 0 };

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public void A_steady_decode_step_builds_and_runs_without_allocating(bool stepGraph)
    {
        using var rig = new StageRig(stepGraph: stepGraph);
        Assert.Equal(stepGraph, rig.Model.Runner.UsesStepGraph);
        rig.Admit(new GenerationRequest { PromptTokens = StageRig.Prompt(20, 1), MaxTokens = 32, IgnoreEos = true, Sampling = Greedy });
        rig.Admit(new GenerationRequest { PromptTokens = StageRig.Prompt(30, 2), MaxTokens = 32, IgnoreEos = true, Sampling = Greedy });
        for (int i = 0; i < 4; i++) rig.Step(); // prefill, then decode at a fixed batch of two rows: bindings are warm

        var plan = rig.Scheduler.Schedule();
        long before = GC.GetAllocatedBytesForCurrentThread();
        rig.Batch.Build(plan);
        var logits = rig.Model.Runner.Forward(rig.Batch.Tokens, rig.Batch.Attention, rig.Model.Attention, rig.Batch.LogitRows);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2 * rig.Vocab, logits.Length);
        Assert.Equal(0, allocated);
    }
}
