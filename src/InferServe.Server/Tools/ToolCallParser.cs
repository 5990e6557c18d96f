using System.Text.Json;

namespace InferServe.Server.Tools;

/// <summary>A tool call found in generated text; <see cref="Arguments"/> is JSON text (OpenAI's wire form).</summary>
internal sealed record ParsedToolCall(string Id, string Name, string Arguments);

/// <summary>
/// The calls found in a tool-call section (the text from where <see cref="ToolCallParser.FindStart"/> points), how far
/// they reach (<see cref="Consumed"/>), and whether the rest is malformed. Text after <see cref="Consumed"/> that is
/// neither pending nor malformed is plain content.
/// </summary>
internal readonly record struct SectionScan(List<ParsedToolCall> Calls, int Consumed, bool Malformed);

/// <summary>
/// One model family's tool-call format. Parsers are stateless: the streaming state lives in <see cref="ToolCallExtractor"/>,
/// which re-scans the section as it grows (sections are short; calls are emitted once they are complete).
/// </summary>
internal abstract class ToolCallParser
{
    public abstract string Name { get; }

    /// <summary>Whether the format's marker is a special token, so the choice must be decoded with special tokens kept.</summary>
    public virtual bool NeedsSpecialTokens => false;

    /// <summary>Where the tool-call section starts in <paramref name="text"/>, or -1.</summary>
    public abstract int FindStart(string text);

    /// <summary>How many trailing characters of <paramref name="text"/> could still turn into the section's start (held back while streaming).</summary>
    public abstract int PendingLength(string text);

    /// <summary>
    /// Parses the complete calls of <paramref name="section"/>. <paramref name="final"/>: the text is complete, so an unfinished
    /// call is malformed rather than pending.
    /// </summary>
    public abstract SectionScan Scan(string section, bool final);

    /// <summary>A new call id; Mistral's templates insist on nine alphanumerics.</summary>
    public virtual string NewCallId() => "call_" + Guid.NewGuid().ToString("N")[..24];

    /// <summary>
    /// Reads one call object: a string "name" and an object "arguments" (or "parameters", Llama 3.x). Arguments given as a
    /// JSON string are accepted when the string holds a JSON object. Returns null when the object is not a call.
    /// </summary>
    protected ParsedToolCall? ReadCall(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (!root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString() is not { Length: > 0 } n) return null;
            string arguments = "{}";
            if (root.TryGetProperty("arguments", out var args) || root.TryGetProperty("parameters", out args))
            {
                switch (args.ValueKind)
                {
                    case JsonValueKind.Object: arguments = args.GetRawText(); break;
                    case JsonValueKind.Null: break;
                    case JsonValueKind.String:
                        var s = args.GetString()!;
                        using (var inner = JsonDocument.Parse(s))
                            if (inner.RootElement.ValueKind != JsonValueKind.Object) return null;
                        arguments = s;
                        break;
                    default: return null;
                }
            }
            return new ParsedToolCall(NewCallId(), n, arguments);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that is a proper prefix of <paramref name="marker"/>.</summary>
    protected static int MarkerPrefixAtEnd(string text, string marker)
    {
        for (int k = Math.Min(marker.Length - 1, text.Length); k > 0; k--)
            if (text.AsSpan(text.Length - k).SequenceEqual(marker.AsSpan(0, k))) return k;
        return 0;
    }

    protected static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        return i;
    }
}
