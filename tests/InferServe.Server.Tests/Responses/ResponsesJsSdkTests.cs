using System.Diagnostics;
using System.Text.Json;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests.Responses;

/// <summary>
/// The official OpenAI JS SDK (npm openai, installed by scripts/ci/setup-openai-js.sh) against /v1/responses: text, streamed
/// text equal to the non-streamed text, a forced call and a json_schema output that python3-jsonschema validates, and a
/// second turn by previous_response_id that reports cached input tokens.
/// </summary>
public sealed class ResponsesJsSdkTests(ToolModelFixture fixture) : IClassFixture<ToolModelFixture>
{
    private static string Package => Path.Combine(TestPaths.RepoRoot, ".deps", "node-openai", "node_modules", "openai");

    [Fact(Timeout = 300_000)]
    public async Task The_js_sdk_creates_streams_calls_constrains_and_chains_responses()
    {
        if (!File.Exists(Path.Combine(Package, "package.json"))) Requirements.Missing("npm openai is not installed (run scripts/ci/setup-openai-js.sh).");
        JsonSchemaValidator.RequirePeer();
        var results = await RunAsync(fixture.Gateway);

        var text = results["text"];
        Assert.StartsWith("resp_", text.GetProperty("id").GetString());
        Assert.Equal("response", text.GetProperty("object").GetString());
        Assert.False(string.IsNullOrEmpty(text.GetProperty("output_text").GetString()));
        Assert.True(text.GetProperty("usage").GetProperty("output_tokens").GetInt32() > 0);

        var stream = results["stream"];
        Assert.Equal(stream.GetProperty("whole").GetString(), stream.GetProperty("streamed").GetString());
        var types = stream.GetProperty("types").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"], types[..4]);
        Assert.Contains(types[^1], new[] { "response.completed", "response.incomplete" });
        Assert.Equal(Enumerable.Range(0, types.Count), stream.GetProperty("sequence").EnumerateArray().Select(s => s.GetInt32()));

        var call = Assert.Single(results["function_call"].GetProperty("output").EnumerateArray());
        Assert.Equal("function_call", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        var json = results["json_schema"];
        Assert.Equal("completed", json.GetProperty("status").GetString());
        Assert.All(await JsonSchemaValidator.ValidateAsync(
            [(ResponsesSdkTests.CitySchema, call.GetProperty("arguments").GetString()!), (ResponsesSdkTests.PersonSchema, json.GetProperty("output_text").GetString()!)]), Assert.Null);

        var turns = results["two_turns"];
        Assert.Equal(turns.GetProperty("first_id").GetString(), turns.GetProperty("previous").GetString());
        Assert.True(turns.GetProperty("second").GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32() > 0, turns.GetRawText());
    }

    private static async Task<Dictionary<string, JsonElement>> RunAsync(TestServer gw)
    {
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "InferServe.Server.Tests", "js", "responses_sdk.mjs");
        var psi = new ProcessStartInfo("node", [script, Package]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["OPENAI_BASE_URL"] = new Uri(gw.BaseAddress, "/v1").ToString();
        psi.Environment["OPENAI_API_KEY"] = TestServer.ApiKey;
        psi.Environment["MODEL"] = TestServer.ModelName;
        psi.Environment["CITY_SCHEMA"] = ResponsesSdkTests.CitySchema;
        psi.Environment["PERSON_SCHEMA"] = ResponsesSdkTests.PersonSchema;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(p.ExitCode == 0, $"node failed ({p.ExitCode}):\n{await stderr}\n{await stdout}");
        return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToDictionary(e => e.GetProperty("name").GetString()!);
    }
}
