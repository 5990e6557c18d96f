using System.Runtime.CompilerServices;
using System.Text.Json;

namespace InferServe.TestSupport.Server;

/// <summary>Reads server-sent events as the OpenAI endpoints write them: one <c>data: </c> line per event, <c>[DONE]</c> last.</summary>
public static class Sse
{
    public const string DoneMarker = "[DONE]";

    /// <summary>Each event's data as it arrives, <see cref="DoneMarker"/> included; ends with the stream.</summary>
    public static async IAsyncEnumerable<string> DataAsync(TextReader reader, [EnumeratorCancellation] CancellationToken ct = default)
    {
        while (await reader.ReadLineAsync(ct) is { } line)
            if (line.StartsWith("data: ", StringComparison.Ordinal)) yield return line[6..];
    }

    /// <summary>The JSON of each data event, and whether [DONE] ended the stream.</summary>
    public static async Task<(List<JsonElement> Events, bool Done)> ReadAllAsync(HttpResponseMessage response)
    {
        var events = new List<JsonElement>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        await foreach (var data in DataAsync(reader))
        {
            if (data == DoneMarker) return (events, true);
            events.Add(JsonDocument.Parse(data).RootElement.Clone());
        }
        return (events, false);
    }
}
