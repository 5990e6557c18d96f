using System.Text;
using InferServe.Contracts;
using InferServe.Tokenization;

namespace InferServe.Engine.Output;

/// <summary>
/// Per-choice detokenization and stop-string matching. Text that might be the start of a stop
/// string is withheld until it is known not to be one; a match truncates the output before it.
/// </summary>
internal sealed class OutputState(IncrementalDecoder decoder, IReadOnlyList<string> stops, bool includeStop = false)
{
    private readonly StringBuilder _held = new();

    public IncrementalDecoder Decoder { get; } = decoder;

    /// <summary>A choice's output state, its decoder primed with the prompt (so the first token decodes in context).</summary>
    public static OutputState For(ITokenizer tokenizer, GenerationRequest spec)
    {
        var decoder = tokenizer.CreateIncrementalDecoder(spec.SkipSpecialTokens);
        decoder.Prime(spec.PromptTokens as int[] ?? [.. spec.PromptTokens]);
        return new OutputState(decoder, spec.StopStrings, spec.IncludeStopStringInOutput);
    }

    /// <summary>
    /// Adds decoded text; returns what can be emitted now and whether a stop string matched. <paramref name="stopsAllowed"/>
    /// false (before min_tokens): stop strings pass through as text.
    /// </summary>
    public (string Emit, bool Stopped) Push(string text, bool stopsAllowed = true)
    {
        if (stops.Count == 0) return (text, false);
        _held.Append(text);
        var held = _held.ToString();
        int match = -1, end = -1;
        foreach (var stop in stops)
        {
            int i = held.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (match < 0 || i < match))
            {
                match = i;
                end = i + stop.Length;
            }
        }
        if (match >= 0 && stopsAllowed)
        {
            _held.Clear();
            return (held[..(includeStop ? end : match)], true);
        }
        int keep = 0;
        foreach (var stop in stops)
        {
            for (int k = Math.Min(stop.Length - 1, held.Length); k > keep; k--)
            {
                if (held.AsSpan(held.Length - k).SequenceEqual(stop.AsSpan(0, k)))
                {
                    keep = k;
                    break;
                }
            }
        }

        _held.Remove(0, held.Length - keep);
        return (held[..^keep], false);
    }

    /// <summary>Everything still withheld (the sequence ended for another reason).</summary>
    public string Drain(string last = "")
    {
        var rest = _held.ToString() + last + Decoder.Flush();
        _held.Clear();
        return rest;
    }
}
