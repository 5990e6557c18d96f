using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace InferServe.Disaggregation.Tests.Support;

/// <summary>
/// /v1/responses calls reduced to what must match between deployments: status, output items (text, calls) and token
/// counts. An event stream is folded into the same shape, from its deltas and its terminal event.
/// </summary>
public static class ResponsesCalls
{
    public static async Task<string> RunAsync(string baseUrl, JsonObject body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/v1/responses") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await OpenAiCalls.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode != HttpStatusCode.OK) return $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}";
        if (body["stream"]?.GetValue<bool>() != true) return Canonical(JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!);

        var deltas = new StringBuilder();
        var types = new List<string>();
        JsonNode? final = null;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var e = JsonNode.Parse(line[6..])!;
            string type = e["type"]!.GetValue<string>();
            types.Add(type);
            if (type == "response.output_text.delta") deltas.Append(e["delta"]!.GetValue<string>());
            if (type is "response.completed" or "response.incomplete" or "response.failed") final = e["response"];
        }
        return new JsonObject
        {
            ["streamed"] = deltas.ToString(),
            ["events"] = string.Join(",", types.Distinct()),
            ["final"] = final is null ? null : JsonNode.Parse(Canonical(final)),
        }.ToJsonString();
    }

    /// <summary>Runs a first turn and a follow-up by previous_response_id; returns the follow-up, canonical.</summary>
    public static async Task<string> TwoTurnsAsync(string baseUrl, CancellationToken ct)
    {
        using var first = await OpenAiCalls.Http.PostAsync(baseUrl + "/v1/responses", new StringContent(
            """{"input":"Once upon a time there was a little dog named Max who liked to run in the park","max_output_tokens":20,"temperature":0}""", Encoding.UTF8, "application/json"), ct);
        var id = JsonNode.Parse(await first.Content.ReadAsStringAsync(ct))!["id"]!.GetValue<string>();
        return await RunAsync(baseUrl, new JsonObject { ["input"] = "Then", ["previous_response_id"] = id, ["max_output_tokens"] = 20, ["temperature"] = 0 }, ct);
    }

    /// <summary>Ids are left out (they differ per server), and so are cached tokens: concurrent requests race for each other's blocks.</summary>
    private static string Canonical(JsonNode response)
    {
        var output = new JsonArray();
        foreach (var item in response["output"]!.AsArray())
        {
            output.Add(new JsonObject
            {
                ["type"] = item!["type"]!.DeepClone(),
                ["status"] = item["status"]!.DeepClone(),
                ["text"] = item["content"]?.AsArray().Select(p => p!["text"]!.GetValue<string>()).Aggregate("", string.Concat),
                ["name"] = item["name"]?.DeepClone(),
                ["arguments"] = item["arguments"]?.DeepClone(),
            });
        }

        var usage = response["usage"]!;
        return new JsonObject
        {
            ["status"] = response["status"]!.DeepClone(),
            ["incomplete"] = response["incomplete_details"]?.DeepClone(),
            ["output"] = output,
            ["input_tokens"] = usage["input_tokens"]!.DeepClone(),
            ["output_tokens"] = usage["output_tokens"]!.DeepClone(),
        }.ToJsonString();
    }
}
