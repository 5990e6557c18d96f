namespace InferServe.Server.Tools;

/// <summary>
/// Llama 3.1/3.2/3.3 JSON tool calling: the whole reply is <c>{"name": ..., "parameters": {...}}</c>, optionally after the
/// <c>&lt;|python_tag|&gt;</c> special token; Llama 3.2 separates several calls with ';'. A reply that starts with anything
/// else is plain content.
/// </summary>
internal sealed class Llama3JsonToolCallParser : ToolCallParser
{
    public const string PythonTag = "<|python_tag|>";

    public override string Name => "llama3";

    public override int FindStart(string text)
    {
        int i = SkipWhitespace(text, 0);
        if (i == text.Length) return -1;
        return text[i] == '{' || text.AsSpan(i).StartsWith(PythonTag) ? i : -1;
    }

    /// <summary>Leading whitespace, or a beginning of the python tag, may still become a call.</summary>
    public override int PendingLength(string text)
    {
        int i = SkipWhitespace(text, 0);
        return i == text.Length || PythonTag.AsSpan().StartsWith(text.AsSpan(i)) ? text.Length : 0;
    }

    public override SectionScan Scan(string section, bool final)
    {
        var calls = new List<ParsedToolCall>();
        int i = section.StartsWith(PythonTag, StringComparison.Ordinal) ? PythonTag.Length : 0;
        int consumed = 0;
        while (true)
        {
            i = SkipWhitespace(section, i);
            if (i == section.Length) return new(calls, consumed, final && calls.Count == 0);
            if (section[i] != '{') return new(calls, consumed, calls.Count == 0);
            int end = JsonExtent.End(section, i);
            if (end < 0) return new(calls, consumed, final);
            var call = ReadCall(section[i..end]);
            if (call is null) return new(calls, consumed, true);
            calls.Add(call);
            consumed = end;
            i = SkipWhitespace(section, end);
            if (i < section.Length && section[i] == ';') i++;
        }
    }
}
