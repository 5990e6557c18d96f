using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.TestSupport.Fuzzing;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests.Fuzzing;

/// <summary>
/// Mutated /v1/responses bodies over real HTTP, on a server with a tool-calling template: no answer is a 5xx, every
/// error is OpenAI-shaped, every 200 is a response object or an event stream that ends in a terminal event.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class ResponsesFuzzTests(ResponsesFuzzTests.Fixture fixture) : IClassFixture<ResponsesFuzzTests.Fixture>
{
    /// <summary>The fuzz server with the tool-calling model and template, so tools and forced calls are reached.</summary>
    public sealed class Fixture : RequestBodyFuzzTests.Fixture
    {
        protected override void Configure(TestSettings settings)
        {
            settings.Engine.Model = ToolModelFixture.WriteModel().Dir;
            settings.ChatTemplate = ToolModelFixture.Template;
        }
    }

    private static readonly string[] Fields =
        ["model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "seed", "stop", "parallel_tool_calls", "metadata",
         "user", "tools", "tool_choice", "text", "format", "schema", "stream", "store", "previous_response_id", "truncation", "include",
         "background", "reasoning", "role", "content", "type", "text", "call_id", "name", "arguments", "output", "strict", "parameters"];

    private const string Tool = """{"type":"function","name":"get_weather","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":6}},"required":["city"]}}""";

    // Small generations: the point is the request mapping, not the decode loop.
    private static readonly string[] Seeds =
    [
        """{"model":"tiny-test","input":"Once upon a time","max_output_tokens":2,"temperature":0}""",
        """{"input":[{"role":"user","content":[{"type":"input_text","text":"Hi"}]},{"role":"assistant","content":[{"type":"output_text","text":"Yo"}]}],"instructions":"Be brief.","max_output_tokens":3,"stream":true,"metadata":{"a":"b"},"user":"u"}""",
        $$"""{"input":[{"role":"user","content":"Weather?"},{"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"c1","output":"22 C"}],"tools":[{{Tool}}],"tool_choice":"auto","max_output_tokens":2,"store":false}""",
        $$"""{"input":"Weather?","tools":[{{Tool}}],"tool_choice":{"type":"function","name":"get_weather"},"max_output_tokens":40,"parallel_tool_calls":false,"stream":true}""",
        """{"input":"Person","text":{"format":{"type":"json_schema","name":"p","schema":{"type":"object","properties":{"n":{"type":"string","maxLength":4}},"required":["n"]},"strict":true}},"max_output_tokens":30,"seed":3,"top_p":0.9,"temperature":1}""",
        """{"input":"x","text":{"format":{"type":"json_object"}},"max_output_tokens":8,"stop":["}"],"truncation":"disabled","include":[]}""",
    ];

    private readonly TestServer _gw = fixture.Gateway;

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public async Task Mutated_responses_bodies_never_get_a_5xx_and_answers_are_well_formed()
    {
        var run = new FuzzRun("http-responses-bodies", defaultCases: 2000);
        var mutator = new JsonMutator(Fields);
        var seeds = Seeds.Select(s => JsonNode.Parse(s)!).ToArray();
        // A stored response to continue, so previous_response_id reaches the store.
        using (var first = await _gw.PostJsonAsync("/v1/responses", """{"input":"Hello","max_output_tokens":2}""", TestContext.Current.CancellationToken))
        {
            var id = JsonDocument.Parse(await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("id").GetString();
            seeds = [.. seeds, JsonNode.Parse($$"""{"input":"More","previous_response_id":"{{id}}","max_output_tokens":2}""")!];
        }
        await run.RunAsync(async (i, r, ct) =>
        {
            var body = mutator.Mutate(r, seeds[r.Next(seeds.Length)]);
            using var response = await _gw.PostJsonAsync("/v1/responses", body, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            var problem = Check((int)response.StatusCode, response.Content.Headers.ContentType, text);
            if (problem is not null) run.Fail(i, problem, body);
            else run.Outcome(response.StatusCode == System.Net.HttpStatusCode.OK ? "ok" : $"{(int)response.StatusCode} {Param(text)}");
        }, parallelism: 4);
        using var normal = await _gw.PostJsonAsync("/v1/responses", """{"input":"Once upon a time","max_output_tokens":2}""", TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)normal.StatusCode);
        foreach (var error in fixture.Errors.Distinct) run.Fail(-1, "server error: " + error, "(see the 500s above)");
        run.AssertClean();
        Assert.Contains("ok", run.Outcomes); // the mutations leave some bodies valid: generation is reached too
    }

    private static string? Check(int status, MediaTypeHeaderValue? contentType, string text)
    {
        if (status != 200) return RequestBodyFuzzTests.Check(status, contentType, text);
        if (contentType?.MediaType == "text/event-stream")
        {
            var data = text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[6..]).RootElement).ToList();
            return data.Count > 0 && data[^1].GetProperty("type").GetString() is "response.completed" or "response.incomplete"
                ? null : $"a stream did not end in response.completed or response.incomplete: {text[^Math.Min(300, text.Length)..]}";
        }
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.TryGetProperty("object", out var o) && o.GetString() == "response" ? null : $"a 200 that is not a response: {text}";
    }

    private static string Param(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("param", out var p) ? p.ToString() : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }
}
