using InferServe.Contracts;
using InferServe.Engine.Core;

namespace InferServe.Engine.Output;

/// <summary>Writes a choice's events to its request's stream; the prompt logprobs ride on the first event after they are complete.</summary>
internal static class Emission
{
    public static void Emit(Sequence seq, string text, int[] tokens, TokenLogprob[]? logprobs, FinishReason? finish) =>
        seq.Request.Events.Writer.TryWrite(new GenerationEvent(seq.Index, text, tokens, logprobs, finish, seq.Request.Usage) { PromptLogprobs = TakePromptLogprobs(seq) });

    private static IReadOnlyList<TokenLogprob>? TakePromptLogprobs(Sequence seq)
    {
        if (seq.PromptLogprobs is not { } pl || seq.PromptLogprobsSent || pl.Count < seq.PromptLength) return null;
        seq.PromptLogprobsSent = true;
        return pl;
    }
}
