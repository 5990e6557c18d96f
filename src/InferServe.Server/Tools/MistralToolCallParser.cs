namespace InferServe.Server.Tools;

/// <summary>
/// Mistral (v3 tokenizer, Mistral-7B-Instruct-v0.3 and later): <c>[TOOL_CALLS]</c>, a special token, then a JSON array of
/// <c>{"name": ..., "arguments": {...}}</c> objects. The marker only survives decoding with special tokens kept.
/// </summary>
internal sealed class MistralToolCallParser : ToolCallParser
{
    public const string Marker = "[TOOL_CALLS]";
    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    public override string Name => "mistral";

    public override bool NeedsSpecialTokens => true;

    public override int FindStart(string text) => text.IndexOf(Marker, StringComparison.Ordinal);

    public override int PendingLength(string text) => MarkerPrefixAtEnd(text, Marker);

    /// <summary>Mistral's chat templates refuse tool call ids that are not nine alphanumerics.</summary>
    public override string NewCallId() => string.Create(9, 0, (span, _) =>
    {
        for (int i = 0; i < span.Length; i++) span[i] = IdAlphabet[Random.Shared.Next(IdAlphabet.Length)];
    });

    public override SectionScan Scan(string section, bool final)
    {
        var calls = new List<ParsedToolCall>();
        int i = SkipWhitespace(section, Marker.Length);
        if (i == section.Length) return new(calls, 0, final);
        if (section[i] == '{') // a lone object instead of an array
        {
            int end = JsonExtent.End(section, i);
            if (end < 0) return new(calls, 0, final);
            var single = ReadCall(section[i..end]);
            if (single is null) return new(calls, 0, true);
            calls.Add(single);
            return new(calls, end, false);
        }
        if (section[i] != '[') return new(calls, 0, true);
        i++;
        int consumed = 0; // past the last complete call: what a malformed rest is measured from
        while (true)
        {
            i = SkipWhitespace(section, i);
            if (i == section.Length) return new(calls, consumed, final);
            if (section[i] == ']') return new(calls, i + 1, false);
            if (section[i] != '{') return new(calls, consumed, true);
            int end = JsonExtent.End(section, i);
            if (end < 0) return new(calls, consumed, final);
            var call = ReadCall(section[i..end]);
            if (call is null) return new(calls, consumed, true);
            calls.Add(call);
            consumed = end;
            i = SkipWhitespace(section, end);
            if (i < section.Length && section[i] == ',') i++;
        }
    }
}
