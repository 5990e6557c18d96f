using System.Text.RegularExpressions;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>
/// A tokenizer.json pre-tokenizer: splits one piece of a section into smaller pieces ("words"), each of
/// which BPE encodes on its own. <paramref name="atTextStart"/> is true only for the piece that begins the input.
/// </summary>
internal interface IPreTokenizer
{
    void Split(string piece, bool atTextStart, List<string> output);
}

internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>Applies each pre-tokenizer to every piece the previous one produced.</summary>
internal sealed class SequencePreTokenizer(IPreTokenizer[] steps) : IPreTokenizer
{
    public void Split(string piece, bool atTextStart, List<string> output)
    {
        var current = new List<string> { piece };
        var next = new List<string>();
        foreach (var step in steps)
        {
            next.Clear();
            for (int i = 0; i < current.Count; i++)
            {
                step.Split(current[i], atTextStart && i == 0, next);
            }

            (current, next) = (next, current);
        }

        output.AddRange(current);
    }
}

/// <summary>Split: cuts at regex (or literal) matches; behavior says where the matched delimiters go.</summary>
internal sealed class SplitPreTokenizer(CodePointRegex pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public void Split(string piece, bool atTextStart, List<string> output)
    {
        var matches = new List<(int Start, int Length)>();
        pattern.FindMatches(piece, matches);

        // Spans covering the whole piece, each marked as delimiter (a match, unless inverted) or content.
        var spans = new List<(int Start, int End, bool Delimiter)>(matches.Count * 2 + 1);
        int position = 0;
        foreach (var (start, length) in matches)
        {
            if (start > position)
            {
                spans.Add((position, start, invert));
            }

            spans.Add((start, start + length, !invert));
            position = start + length;
        }

        if (position < piece.Length)
        {
            spans.Add((position, piece.Length, invert));
        }

        int pendingStart = -1; // MergedWithNext: start of a delimiter waiting for the content after it
        for (int i = 0; i < spans.Count; i++)
        {
            var (start, end, delimiter) = spans[i];
            switch (behavior)
            {
                case SplitBehavior.Removed when delimiter:
                    break;
                case SplitBehavior.MergedWithPrevious when delimiter && output.Count > 0 && i > 0 && !spans[i - 1].Delimiter:
                    output[^1] += piece[start..end];
                    break;
                case SplitBehavior.MergedWithNext when delimiter && i + 1 < spans.Count && !spans[i + 1].Delimiter:
                    pendingStart = start;
                    break;
                case SplitBehavior.MergedWithNext:
                    output.Add(piece[(pendingStart < 0 ? start : pendingStart)..end]);
                    pendingStart = -1;
                    break;
                case SplitBehavior.Contiguous when delimiter && i > 0 && spans[i - 1].Delimiter:
                    output[^1] += piece[start..end];
                    break;
                default:
                    output.Add(piece[start..end]);
                    break;
            }
        }

    }
}

/// <summary>ByteLevel: optional GPT-2 regex split, then every UTF-8 byte becomes its printable stand-in char.</summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    private static readonly CodePointRegex Gpt2Pattern = new(new Regex(
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        RegexOptions.Compiled | RegexOptions.CultureInvariant));

    public void Split(string piece, bool atTextStart, List<string> output)
    {
        if (addPrefixSpace && !piece.StartsWith(' '))
        {
            piece = " " + piece;
        }

        if (!useRegex)
        {
            output.Add(ByteLevelAlphabet.Encode(piece));
            return;
        }

        var matches = new List<(int Start, int Length)>();
        Gpt2Pattern.FindMatches(piece, matches);
        foreach (var (start, length) in matches)
        {
            output.Add(ByteLevelAlphabet.Encode(piece.AsSpan(start, length)));
        }
    }
}

/// <summary>Metaspace: spaces become the replacement char ("▁"), optionally prepended, optionally split before each.</summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : IPreTokenizer
{
    public void Split(string piece, bool atTextStart, List<string> output)
    {
        string text = piece.Replace(' ', replacement);
        bool prepend = scheme == PrependScheme.Always || (scheme == PrependScheme.First && atTextStart);
        if (prepend && !text.StartsWith(replacement))
        {
            text = replacement + text;
        }

        if (!split)
        {
            output.Add(text);
            return;
        }

        // MergedWithNext on the replacement char: "▁Hey▁you" -> "▁Hey", "▁you".
        int start = 0;
        for (int i = 1; i < text.Length; i++)
        {
            if (text[i] == replacement)
            {
                output.Add(text[start..i]);
                start = i;
            }
        }

        if (text.Length > 0)
        {
            output.Add(text[start..]);
        }
    }
}

internal enum PrependScheme
{
    Always,
    First,
    Never,
}
