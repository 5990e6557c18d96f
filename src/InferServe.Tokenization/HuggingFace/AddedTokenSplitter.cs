using System.Buffers;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>An added token from tokenizer.json's added_tokens (special or not).</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip);

/// <summary>A section of input: either an added token, or text that goes through normalize/pre-tokenize/BPE.</summary>
internal readonly record struct Section(string Text, AddedToken? Token, bool AtTextStart);

/// <summary>
/// Cuts input text at added tokens before anything else, so normalizers and pre-tokenizers never see
/// (and never break up) strings like "&lt;|eot_id|&gt;". Leftmost match wins, then the longest.
/// lstrip/rstrip tokens swallow the whitespace beside them.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private sealed class Node
    {
        public Dictionary<char, Node> Children { get; } = [];
        public AddedToken? Token { get; set; }
    }

    private readonly Node _root = new();
    private readonly SearchValues<char> _firstChars;
    private readonly bool _empty;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        var first = new HashSet<char>();
        foreach (var token in tokens)
        {
            if (token.Content.Length == 0)
            {
                continue;
            }

            var node = _root;
            foreach (char c in token.Content)
            {
                if (!node.Children.TryGetValue(c, out var child))
                {
                    node.Children[c] = child = new Node();
                }

                node = child;
            }

            node.Token ??= token;
            first.Add(token.Content[0]);
        }

        _empty = first.Count == 0;
        _firstChars = SearchValues.Create([.. first]);
    }

    public List<Section> Split(string text)
    {
        var raw = new List<(int Start, int End, AddedToken? Token)>();
        int sectionStart = 0;
        int i = 0;
        while (!_empty && i < text.Length)
        {
            int found = text.AsSpan(i).IndexOfAny(_firstChars);
            if (found < 0)
            {
                break;
            }

            i += found;
            var match = LongestMatchAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }

            if (i > sectionStart)
            {
                raw.Add((sectionStart, i, null));
            }

            raw.Add((i, i + match.Content.Length, match));
            i += match.Content.Length;
            sectionStart = i;
        }

        if (sectionStart < text.Length)
        {
            raw.Add((sectionStart, text.Length, null));
        }

        var sections = new List<Section>(raw.Count);
        for (int k = 0; k < raw.Count; k++)
        {
            var (start, end, token) = raw[k];
            if (token is not null)
            {
                sections.Add(new Section(token.Content, token, start == 0));
                continue;
            }

            var span = text.AsSpan(start, end - start);
            if (k > 0 && raw[k - 1].Token is { RStrip: true })
            {
                span = span.TrimStart();
            }

            if (k + 1 < raw.Count && raw[k + 1].Token is { LStrip: true })
            {
                span = span.TrimEnd();
            }

            if (!span.IsEmpty)
            {
                sections.Add(new Section(span.ToString(), null, start == 0));
            }
        }

        return sections;
    }

    private AddedToken? LongestMatchAt(string text, int start)
    {
        AddedToken? best = null;
        var node = _root;
        for (int j = start; j < text.Length && node.Children.TryGetValue(text[j], out node); j++)
        {
            best = node.Token ?? best;
        }

        return best;
    }
}
