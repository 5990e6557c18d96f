using InferServe.Contracts;
using InferServe.Engine.Core;
using InferServe.Grammar;

namespace InferServe.Engine.Tests.Stages;

/// <summary>
/// The output processor: what a step's logits become. Steered steps lift one token far above the model's own row, so
/// a greedy request would take it unless a rule of the processor (mask, min_tokens) says otherwise.
/// </summary>
public sealed class OutputProcessorTests
{
    private static readonly SamplingParams Greedy = new() { Temperature = 0 };

    private static string Text(List<GenerationEvent> events) => string.Concat(events.Select(e => e.TextDelta));

    [Fact(Timeout = 60_000)]
    public void A_choice_finishes_at_a_stop_string_whose_text_is_withheld_and_its_blocks_go_back()
    {
        using var rig = new StageRig();
        const string spelled = "a cat sat";
        var state = rig.Admit(new GenerationRequest { PromptTokens = StageRig.Prompt(20, 1), MaxTokens = 32, StopStrings = ["cat"], Sampling = Greedy });

        var events = rig.RunToEnd(state, seq => rig.TokenOf(spelled[seq.Generated]));

        Assert.Equal("a ", Text(events));
        Assert.Equal(FinishReason.Stop, events[^1].Finish);
        Assert.Equal(5, events.Sum(e => e.TokenIds.Count)); // "a cat": sampling stopped at the match
        Assert.Equal(rig.Kv.Pool.NumBlocks, rig.Kv.Pool.FreeCount);
    }

    [Fact(Timeout = 60_000)]
    public void N_choices_fork_at_the_first_sample_sharing_every_prompt_block()
    {
        using var rig = new StageRig();
        var state = rig.Admit(new GenerationRequest
        {
            PromptTokens = StageRig.Prompt(40, 2), MaxTokens = 8, N = 3, Sampling = new SamplingParams { Temperature = 1, Seed = 5 },
        });

        rig.Step();

        Assert.Equal([0, 1, 2], state.Sequences.Select(s => s.Index));
        var blocks = state.Sequences[0].Kv.Table.AsSpan().ToArray();
        Assert.Equal(rig.Kv.BlocksFor(40), blocks.Length);
        foreach (var seq in state.Sequences)
        {
            Assert.Equal(blocks, seq.Kv.Table.AsSpan().ToArray());
            Assert.Equal(SequenceStatus.Running, seq.Status);
            Assert.Equal(41, seq.Count); // each sampled its own first token from the shared row
        }
        Assert.All(blocks, b => Assert.Equal(3, rig.Kv.Pool.RefCount(b)));
        Assert.Equal([0, 1, 2], StageRig.Events(state).Select(e => e.Index).Order());
        Assert.Equal(3, rig.Scheduler.RunningCount);
    }

    [Fact(Timeout = 60_000)]
    public void A_grammar_mask_keeps_the_output_in_the_grammar_when_the_logits_prefer_another_token()
    {
        using var rig = new StageRig();
        var state = rig.Admit(new GenerationRequest
        {
            PromptTokens = StageRig.Prompt(10, 3), MaxTokens = 16, Sampling = Greedy, Grammar = new GrammarSpec(GrammarKind.Regex, "[0-9]{3}"),
        });

        var events = rig.RunToEnd(state, _ => rig.TokenOf('x'));

        Assert.Matches("^[0-9]{3}$", Text(events));
        Assert.Equal(FinishReason.Stop, events[^1].Finish); // the grammar completed: nothing is left to add
    }

    [Fact(Timeout = 60_000)]
    public void End_of_sequence_is_masked_until_min_tokens_then_finishes_the_choice()
    {
        using var rig = new StageRig();
        int eos = rig.Eos.Min();
        var state = rig.Admit(new GenerationRequest { PromptTokens = StageRig.Prompt(10, 4), MaxTokens = 16, MinTokens = 3, Sampling = Greedy });

        var events = rig.RunToEnd(state, _ => eos);

        var tokens = events.SelectMany(e => e.TokenIds).ToList();
        Assert.Equal(4, tokens.Count);
        Assert.DoesNotContain(eos, tokens[..3]);
        Assert.Equal(eos, tokens[3]);
        Assert.Equal(FinishReason.Stop, events[^1].Finish);
    }

    [Fact(Timeout = 60_000)]
    public void Max_tokens_ends_a_choice_with_length_and_every_token_reports_its_logprobs()
    {
        using var rig = new StageRig();
        var state = rig.Admit(new GenerationRequest { PromptTokens = StageRig.Prompt(10, 5), MaxTokens = 5, IgnoreEos = true, Logprobs = 2, Sampling = Greedy });

        var events = rig.RunToEnd(state);

        Assert.Equal(5, events.Sum(e => e.TokenIds.Count));
        Assert.Equal(FinishReason.Length, events[^1].Finish);
        foreach (var e in events)
        {
            var logprob = Assert.Single(e.Logprobs!);
            Assert.Equal(e.TokenIds[0], logprob.TokenId);
            Assert.Equal(2, logprob.Top.Count);
            Assert.Equal(logprob.TokenId, logprob.Top[0].TokenId); // greedy: the sampled token is the most likely
        }
    }

    [Fact(Timeout = 60_000)]
    public void Prompt_logprobs_arrive_complete_on_the_first_event_even_when_the_prompt_is_prefilled_in_chunks()
    {
        using var rig = new StageRig(maxBatchedTokens: 16);
        var prompt = StageRig.Prompt(40, 6);
        var state = rig.Admit(new GenerationRequest { PromptTokens = prompt, MaxTokens = 2, PromptLogprobs = 1, Sampling = Greedy });

        var events = rig.RunToEnd(state);

        var promptLogprobs = events[0].PromptLogprobs!;
        Assert.Equal(prompt, promptLogprobs.Select(p => p.TokenId));
        Assert.True(float.IsNaN(promptLogprobs[0].Logprob)); // nothing predicts the first token
        Assert.All(promptLogprobs.Skip(1), p => Assert.True(p.Logprob <= 0 && float.IsFinite(p.Logprob)));
        Assert.All(events.Skip(1), e => Assert.Null(e.PromptLogprobs));
    }
}
