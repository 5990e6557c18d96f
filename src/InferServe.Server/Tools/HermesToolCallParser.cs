namespace InferServe.Server.Tools;

/// <summary>
/// Hermes 2 Pro / Qwen2.5: each call is <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c>, several in a row for
/// parallel calls, after optional content. As in vLLM, a final call left unclosed (the close tag was a stop string, or EOS came
/// first) still counts when its JSON is complete.
/// </summary>
internal sealed class HermesToolCallParser : ToolCallParser
{
    public const string Open = "<tool_call>";
    public const string Close = "</tool_call>";

    public override string Name => "hermes";

    public override int FindStart(string text) => text.IndexOf(Open, StringComparison.Ordinal);

    public override int PendingLength(string text) => MarkerPrefixAtEnd(text, Open);

    public override SectionScan Scan(string section, bool final)
    {
        var calls = new List<ParsedToolCall>();
        int consumed = 0;
        while (true)
        {
            int i = SkipWhitespace(section, consumed);
            if (i == section.Length || !section.AsSpan(i).StartsWith(Open)) return new(calls, consumed, false);
            int body = i + Open.Length;
            int close = section.IndexOf(Close, body, StringComparison.Ordinal);
            if (close < 0)
            {
                if (!final) return new(calls, consumed, false); // still arriving
                var last = ReadCall(section[body..].Trim());
                if (last is null) return new(calls, consumed, true);
                calls.Add(last);
                return new(calls, section.Length, false);
            }
            var call = ReadCall(section[body..close].Trim());
            if (call is null) return new(calls, consumed, true);
            calls.Add(call);
            consumed = close + Close.Length;
        }
    }
}
