using System.Text.Json;

namespace InferServe.Server.Tests.Responses;

/// <summary>Reads a Responses event stream: each event's data, after checking its <c>event:</c> line names the data's type.</summary>
public static class ResponseStream
{
    public static async Task<List<JsonElement>> ReadAllAsync(HttpResponseMessage response, CancellationToken ct)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<JsonElement>();
        string? name = null;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var data = JsonDocument.Parse(line[6..]).RootElement.Clone();
                Assert.Equal(name, data.GetProperty("type").GetString());
                events.Add(data);
                name = null;
            }
        }
        return events;
    }

    public static IEnumerable<string> Types(this IEnumerable<JsonElement> events) => events.Select(e => e.GetProperty("type").GetString()!);
}
