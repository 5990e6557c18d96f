using System.Text;

namespace InferServe.Server.Tools;

/// <summary>
/// Splits one choice's generated text into content and tool calls, as it streams. Content before the tool-call section
/// passes through (minus what could still be the section's marker); the section is held back and each call comes out
/// once its JSON is complete. Whatever in the section does not parse as calls is returned as content at the end, so a
/// malformed call reaches the client as plain text. Streaming and non-streaming responses use the same instance logic,
/// so they agree.
/// </summary>
internal sealed class ToolCallExtractor(ToolCallParser parser, bool parallel)
{
    private readonly StringBuilder _text = new();
    private int _contentSent;
    private int _sectionStart = -1;
    private int _consumed;
    private bool _malformed;
    private readonly List<ParsedToolCall> _calls = [];

    /// <summary>Every call found so far (only the first when parallel calls are off).</summary>
    public IReadOnlyList<ParsedToolCall> Calls => _calls;

    /// <summary>Adds generated text; returns the content that can be sent now and appends newly complete calls to <paramref name="newCalls"/>.</summary>
    public string Push(string delta, List<ParsedToolCall> newCalls)
    {
        if (delta.Length == 0) return "";
        _text.Append(delta);
        if (_sectionStart < 0)
        {
            var text = _text.ToString();
            int start = parser.FindStart(text);
            if (start < 0)
            {
                int upTo = text.Length - parser.PendingLength(text);
                // Leading whitespace waits: before a call it is not content.
                return _contentSent == 0 && text.AsSpan(0, upTo).IsWhiteSpace() ? "" : TakeContent(upTo);
            }
            _sectionStart = start;
            bool onlyWhitespace = _contentSent == 0 && text.AsSpan(0, start).IsWhiteSpace();
            var before = TakeContent(start);
            Rescan(final: false, newCalls);
            return onlyWhitespace ? "" : before;
        }
        // Calls complete only on a closing bracket or tag; other tokens cannot add one.
        if (!_malformed && delta.AsSpan().IndexOfAny('}', ']', '>') >= 0) Rescan(final: false, newCalls);
        return "";
    }

    /// <summary>The text has ended: returns the remaining content (any unparsed rest of the section) and appends the last calls.</summary>
    public string Finish(List<ParsedToolCall> newCalls)
    {
        if (_sectionStart < 0) return TakeContent(_text.Length);
        if (!_malformed) Rescan(final: true, newCalls);
        _contentSent = Math.Max(_contentSent, _sectionStart + _consumed);
        var rest = TakeContent(_text.Length);
        return _calls.Count > 0 && string.IsNullOrWhiteSpace(rest) ? "" : rest;
    }

    private void Rescan(bool final, List<ParsedToolCall> newCalls)
    {
        var scan = parser.Scan(_text.ToString(_sectionStart, _text.Length - _sectionStart), final);
        _consumed = scan.Consumed;
        _malformed = scan.Malformed;
        int limit = parallel ? scan.Calls.Count : Math.Min(1, scan.Calls.Count);
        for (int i = _calls.Count; i < limit; i++)
        {
            _calls.Add(scan.Calls[i]);
            newCalls.Add(scan.Calls[i]);
        }
        if (!parallel && _calls.Count > 0 && scan.Calls.Count > 1) _consumed = _text.Length - _sectionStart; // later calls are dropped, not content
    }

    private string TakeContent(int upTo)
    {
        if (upTo <= _contentSent) return "";
        var s = _text.ToString(_contentSent, upTo - _contentSent);
        _contentSent = upTo;
        return s;
    }
}
