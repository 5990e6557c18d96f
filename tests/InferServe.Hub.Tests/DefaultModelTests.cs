using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using InferServe.TestSupport;

namespace InferServe.Hub.Tests;

/// <summary>The README's first command, `serve` with no model arguments, serves the embedded stories260K.</summary>
public sealed class DefaultModelTests
{
    private const string Lily = ", there was a little girl named Lily.";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    [Fact(Timeout = 240_000)]
    public async Task Serve_without_model_arguments_writes_the_stories260K_story()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = ServerProcess.Start("serve", ["--cache-dir", TestPaths.GraphCacheDir]);
        await server.WaitReadyAsync(ct);
        Assert.Contains("embedded default stories260K", server.Output);

        var models = await Http.GetFromJsonAsync<JsonObject>(server.HttpBase + "/v1/models", ct);
        Assert.Equal("stories260K", models!["data"]![0]!["id"]!.GetValue<string>());

        var echoed = await PostAsync(server, "/v1/completions", new JsonObject
        {
            ["prompt"] = "Once upon a time", ["max_tokens"] = 24, ["temperature"] = 0, ["echo"] = true,
        }, ct);
        Assert.StartsWith("Once upon a time" + Lily, echoed["choices"]![0]!["text"]!.GetValue<string>());

        var streamed = await StreamAsync(server, "/v1/completions", new JsonObject { ["prompt"] = "Once upon a time", ["max_tokens"] = 60, ["temperature"] = 0 }, ct);
        Assert.StartsWith(Lily, streamed);
        Assert.DoesNotContain('\uFFFD', streamed);

        // The shipped chat template makes the user's words the story's opening.
        var chat = await StreamAsync(server, "/v1/chat/completions", new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Once upon a time" }), ["max_tokens"] = 60, ["temperature"] = 0,
        }, ct);
        Assert.StartsWith(Lily, chat);
        Assert.DoesNotContain('\uFFFD', chat);

        // No API answer shows the server's directories: the model's root is its file name.
        Assert.Equal("stories260K.bin", models["data"]![0]!["root"]!.GetValue<string>());

        // The log: one short line per request (method, path, status, duration) without scopes; the /ready probes
        // WaitReadyAsync sent are Debug, so absent.
        await Eventually.WaitUntilAsync(() => server.Output.Contains("POST /v1/chat/completions -> 200"), () => server.Output);
        var requestLines = server.Output.Split('\n').Where(l => l.Contains(" -> ")).ToList();
        Assert.Equal(4, requestLines.Count); // GET /v1/models, two completions, one chat
        Assert.All(requestLines, l => Assert.True(l.Length < 120, $"{l.Length} characters: {l}"));
        Assert.DoesNotContain("/ready", server.Output);
        Assert.DoesNotContain("ConnectionId", server.Output);
        Assert.DoesNotContain("RequestPath", server.Output);
    }

    [Fact(Timeout = 240_000)]
    public async Task Generate_without_model_arguments_uses_stories260K()
    {
        var (code, output) = await ServerProcess.RunToEndAsync(
            ["generate", "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "16", "--cache-dir", TestPaths.GraphCacheDir], TestContext.Current.CancellationToken);
        Assert.True(code == 0, output);
        Assert.Contains("embedded default stories260K", output);
        Assert.Contains("Once upon a time" + Lily, output);
    }

    [Fact(Timeout = 240_000)]
    public async Task Serve_help_calls_shapes_random_weight()
    {
        var (code, output) = await ServerProcess.RunToEndAsync(["serve", "--help"], TestContext.Current.CancellationToken);
        Assert.Equal(0, code);
        Assert.Contains("stories260K", output);
        Assert.Contains("random-weight", output);
    }

    private static async Task<JsonObject> PostAsync(ServerProcess server, string path, JsonObject body, CancellationToken ct)
    {
        using var response = await Http.PostAsync(server.HttpBase + path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>The concatenated text deltas of a streamed completion or chat completion.</summary>
    private static async Task<string> StreamAsync(ServerProcess server, string path, JsonObject body, CancellationToken ct)
    {
        body["stream"] = true;
        using var request = new HttpRequestMessage(HttpMethod.Post, server.HttpBase + path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var text = new StringBuilder();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            if (line == "data: [DONE]") return text.ToString();
            foreach (var c in JsonNode.Parse(line[6..])!["choices"]!.AsArray())
                text.Append((c!["text"] ?? c["delta"]?["content"])?.GetValue<string>());
        }
        throw new InvalidOperationException("The stream ended without [DONE]: " + text);
    }
}
