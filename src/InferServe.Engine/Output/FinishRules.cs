using InferServe.Contracts;
using InferServe.Engine.Core;

namespace InferServe.Engine.Output;

/// <summary>
/// Whether a sequence finishes with the token just appended, and the text it releases: a broken grammar, end of
/// sequence, a stop token or string, a complete grammar, or the token and context limits, in that order.
/// </summary>
internal static class FinishRules
{
    public static (FinishReason? Finish, string Text) After(Sequence seq, int token, bool grammarBroken, HashSet<int> eos, int maxContext)
    {
        FinishReason? finish = null;
        string text;
        var spec = seq.Request.Spec;
        var grammar = seq.Grammar;
        bool stopsAllowed = seq.Generated >= spec.MinTokens;
        if (grammarBroken)
        {
            // Nothing the vocabulary can spell continues the grammar here.
            finish = FinishReason.Error;
            text = seq.Output.Drain();
        }
        else if ((!spec.IgnoreEos || grammar is not null) && eos.Contains(token))
        {
            finish = FinishReason.Stop;
            text = seq.Output.Drain();
        }
        else if (spec.StopTokenIds.Contains(token))
        {
            finish = FinishReason.Stop;
            text = spec.IncludeStopStringInOutput ? seq.Output.Drain(seq.Output.Decoder.Push(token)) : seq.Output.Drain();
        }
        else
        {
            (text, bool stopped) = seq.Output.Push(seq.Output.Decoder.Push(token), stopsAllowed);
            // A complete grammar with nothing left to add ends the output now rather than after one more step.
            if (stopped)
            {
                finish = FinishReason.Stop;
            }
            else if (grammar is { IsTerminated: true })
            {
                finish = FinishReason.Stop;
                text += seq.Output.Drain();
            }
        }
        if (finish is null && (seq.Generated >= spec.MaxTokens || seq.Count >= maxContext))
        {
            finish = FinishReason.Length;
            text += seq.Output.Drain();
        }
        return (finish, text);
    }
}
