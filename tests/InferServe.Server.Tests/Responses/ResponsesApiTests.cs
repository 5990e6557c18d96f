using System.Net;
using System.Text.Json;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests.Responses;

/// <summary>POST /v1/responses over raw HTTP: the response object, the event stream's order and shapes, and the refusals.</summary>
public sealed class ResponsesApiTests(ToolModelFixture fixture) : IClassFixture<ToolModelFixture>
{
    internal const string WeatherTool = """{"type":"function","name":"get_weather","description":"Weather in a city","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":12}},"required":["city"],"additionalProperties":false}}""";

    private readonly TestServer _gw = fixture.Gateway;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<JsonElement> CreateAsync(string json)
    {
        using var response = await _gw.PostJsonAsync("/v1/responses", json, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<List<JsonElement>> StreamAsync(string json)
    {
        using var response = await _gw.PostJsonAsync("/v1/responses", json, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ResponseStream.ReadAllAsync(response, Ct);
    }

    private static string OutputText(JsonElement response) => string.Concat(response.GetProperty("output").EnumerateArray()
        .Where(i => i.GetProperty("type").GetString() == "message")
        .SelectMany(i => i.GetProperty("content").EnumerateArray()).Select(p => p.GetProperty("text").GetString()));

    [Fact(Timeout = 60_000)]
    public async Task A_text_response_is_a_response_object_with_a_message_and_usage()
    {
        var r = await CreateAsync("""{"model":"tiny-test","input":"Tell me a story","instructions":"Be brief.","max_output_tokens":200,"temperature":0,"metadata":{"k":"v"},"user":"u1"}""");
        Assert.StartsWith("resp_", r.GetProperty("id").GetString());
        Assert.Equal("response", r.GetProperty("object").GetString());
        Assert.Equal("tiny-test", r.GetProperty("model").GetString());
        Assert.Equal("Be brief.", r.GetProperty("instructions").GetString());
        Assert.Equal("v", r.GetProperty("metadata").GetProperty("k").GetString());
        Assert.Equal("u1", r.GetProperty("user").GetString());
        var message = Assert.Single(r.GetProperty("output").EnumerateArray());
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.StartsWith("msg_", message.GetProperty("id").GetString());
        Assert.Equal("output_text", Assert.Single(message.GetProperty("content").EnumerateArray()).GetProperty("type").GetString());
        var usage = r.GetProperty("usage");
        int input = usage.GetProperty("input_tokens").GetInt32(), output = usage.GetProperty("output_tokens").GetInt32();
        Assert.True(input > 0 && output > 0);
        Assert.Equal(input + output, usage.GetProperty("total_tokens").GetInt32());
        Assert.True(usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32() >= 0);
        bool cut = r.GetProperty("status").GetString() == "incomplete";
        Assert.Equal(cut ? "max_output_tokens" : null, cut ? r.GetProperty("incomplete_details").GetProperty("reason").GetString() : null);
    }

    [Fact(Timeout = 60_000)]
    public async Task Max_output_tokens_cuts_the_response_as_incomplete_with_its_reason()
    {
        var r = await CreateAsync("""{"input":"Once upon a time","max_output_tokens":3,"temperature":0}""");
        Assert.Equal("incomplete", r.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", r.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal(3, r.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal("incomplete", r.GetProperty("output")[0].GetProperty("status").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Streamed_text_follows_openai_event_order_and_assembles_the_non_streamed_text()
    {
        const string body = """{"input":[{"role":"user","content":[{"type":"input_text","text":"Tell me"}]}],"max_output_tokens":12,"temperature":0}""";
        var whole = await CreateAsync(body);
        var events = await StreamAsync(body.Replace("}]}],", "}]}],\"stream\":true,", StringComparison.Ordinal));

        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.GetProperty("sequence_number").GetInt32()));
        var types = events.Types().ToList();
        int deltas = types.Count(t => t == "response.output_text.delta");
        Assert.True(deltas >= 1);
        string last = whole.GetProperty("status").GetString() == "completed" ? "response.completed" : "response.incomplete";
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            .. Enumerable.Repeat("response.output_text.delta", deltas), "response.output_text.done", "response.content_part.done",
            "response.output_item.done", last], types);

        Assert.Equal("in_progress", events[0].GetProperty("response").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, events[0].GetProperty("response").GetProperty("usage").ValueKind);
        var added = events[2];
        Assert.Equal(0, added.GetProperty("output_index").GetInt32());
        string itemId = added.GetProperty("item").GetProperty("id").GetString()!;
        Assert.Equal(0, added.GetProperty("item").GetProperty("content").GetArrayLength());
        Assert.All(events.Skip(3).Take(deltas + 3), e =>
        {
            Assert.Equal(itemId, e.GetProperty("item_id").GetString());
            Assert.Equal(0, e.GetProperty("output_index").GetInt32());
            Assert.Equal(0, e.GetProperty("content_index").GetInt32());
        });
        string streamed = string.Concat(events.Where(e => e.GetProperty("type").GetString() == "response.output_text.delta").Select(e => e.GetProperty("delta").GetString()));
        Assert.Equal(OutputText(whole), streamed);
        Assert.Equal(streamed, events[^4].GetProperty("text").GetString());
        Assert.Equal(streamed, events[^3].GetProperty("part").GetProperty("text").GetString());
        Assert.Equal(streamed, events[^2].GetProperty("item").GetProperty("content")[0].GetProperty("text").GetString());
        var final = events[^1].GetProperty("response");
        Assert.Equal(whole.GetProperty("usage").GetProperty("output_tokens").GetInt32(), final.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(streamed, OutputText(final));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_forced_function_call_streams_as_a_function_call_item_with_its_arguments()
    {
        var events = await StreamAsync($$"""{"input":"Weather in Paris?","tools":[{{WeatherTool}}],"tool_choice":{"type":"function","name":"get_weather"},"max_output_tokens":100,"temperature":0,"stream":true}""");
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.GetProperty("sequence_number").GetInt32()));
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done", "response.completed"], events.Types());
        var added = events[2].GetProperty("item");
        Assert.Equal("function_call", added.GetProperty("type").GetString());
        Assert.Equal("get_weather", added.GetProperty("name").GetString());
        Assert.Equal("", added.GetProperty("arguments").GetString());
        Assert.StartsWith("call_", added.GetProperty("call_id").GetString());
        string itemId = added.GetProperty("id").GetString()!;
        string arguments = events[3].GetProperty("delta").GetString()!;
        Assert.Equal(itemId, events[3].GetProperty("item_id").GetString());
        Assert.Equal(arguments, events[4].GetProperty("arguments").GetString());
        Assert.Equal(itemId, events[4].GetProperty("item_id").GetString());
        var done = events[5].GetProperty("item");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(arguments, done.GetProperty("arguments").GetString());
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(arguments).RootElement.GetProperty("city").ValueKind);
        Assert.Equal("function_call", Assert.Single(events[6].GetProperty("response").GetProperty("output").EnumerateArray()).GetProperty("type").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_stored_response_can_be_fetched_deleted_and_is_then_a_404()
    {
        var r = await CreateAsync("""{"input":"Hi","max_output_tokens":4}""");
        string id = r.GetProperty("id").GetString()!;
        var fetched = JsonDocument.Parse(await _gw.Http.GetStringAsync($"/v1/responses/{id}", Ct)).RootElement;
        Assert.Equal(r.GetRawText(), fetched.GetRawText());

        using var deleted = await _gw.Http.DeleteAsync($"/v1/responses/{id}", Ct);
        var body = JsonDocument.Parse(await deleted.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.True(body.GetProperty("deleted").GetBoolean());
        Assert.Equal(id, body.GetProperty("id").GetString());

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            using var missing = await _gw.Http.SendAsync(new HttpRequestMessage(method, $"/v1/responses/{id}"), Ct);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("error");
            Assert.Contains(id, error.GetProperty("message").GetString());
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        }
        var unstored = await CreateAsync("""{"input":"Hi","max_output_tokens":2,"store":false}""");
        Assert.False(unstored.GetProperty("store").GetBoolean());
        using var notKept = await _gw.Http.GetAsync($"/v1/responses/{unstored.GetProperty("id").GetString()}", Ct);
        Assert.Equal(HttpStatusCode.NotFound, notKept.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_follow_up_by_previous_response_id_continues_the_conversation_from_the_prefix_cache()
    {
        var first = await CreateAsync("""{"input":"Once upon a time there was a little dog who lived in a big red house by the sea","max_output_tokens":8,"temperature":0}""");
        var second = await CreateAsync($$"""{"input":"And then?","previous_response_id":"{{first.GetProperty("id").GetString()}}","max_output_tokens":8,"temperature":0}""");
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("previous_response_id").GetString());
        int firstInput = first.GetProperty("usage").GetProperty("input_tokens").GetInt32();
        var usage = second.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt32() > firstInput + first.GetProperty("usage").GetProperty("output_tokens").GetInt32() - 1);
        Assert.True(usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32() >= 16, usage.GetRawText());

        // The same conversation sent whole renders the same prompt.
        string firstText = OutputText(first);
        var whole = await CreateAsync($$"""
            {"input":[{"role":"user","content":"Once upon a time there was a little dog who lived in a big red house by the sea"},
             {"role":"assistant","content":[{"type":"output_text","text":{{JsonSerializer.Serialize(firstText)}}}]},
             {"role":"user","content":"And then?"}],"max_output_tokens":8,"temperature":0}
            """);
        Assert.Equal(usage.GetProperty("input_tokens").GetInt32(), whole.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(OutputText(second), OutputText(whole));

        using var unknown = await _gw.PostJsonAsync("/v1/responses", """{"input":"x","previous_response_id":"resp_nope"}""", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("previous_response_id", await unknown.Content.ReadAsStringAsync(Ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task Function_call_and_output_items_are_replayed_as_a_tool_turn()
    {
        var r = await CreateAsync($$"""
            {"input":[{"role":"user","content":"Weather in Paris?"},
             {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
             {"type":"function_call_output","call_id":"call_1","output":"22 C and sunny"}],
             "tools":[{{WeatherTool}}],"tool_choice":"none","max_output_tokens":6,"temperature":0}
            """);
        Assert.Equal("message", r.GetProperty("output")[0].GetProperty("type").GetString());
        Assert.Equal("none", r.GetProperty("tool_choice").GetString());
    }

    [Theory(Timeout = 60_000)]
    [InlineData("""{"input":"x","reasoning":{"effort":"low"}}""", "reasoning")]
    [InlineData("""{"input":"x","background":true}""", "background")]
    [InlineData("""{"input":"x","tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"input":"x","tools":[{"type":"file_search","vector_store_ids":["v"]}]}""", "tools[0].type")]
    [InlineData("""{"input":[{"role":"user","content":[{"type":"input_image","image_url":"http://x/y.png"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"input":"x","include":["message.output_text.logprobs"]}""", "include")]
    [InlineData("""{"input":"x","text":{"verbosity":"low"}}""", "text.verbosity")]
    [InlineData("""{"input":"x","truncation":"auto"}""", "truncation")]
    [InlineData("""{"input":"x","conversation":"conv_1"}""", "conversation")]
    [InlineData("""{"input":"x","top_logprobs":2}""", "top_logprobs")]
    [InlineData("""{"input":"x","frequency_penalty":1}""", "frequency_penalty")]
    [InlineData("""{"input":"x","max_output_tokens":0}""", "max_output_tokens")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","name":"s"}}}""", "text.format.schema")]
    [InlineData("""{"input":"x","tool_choice":{"type":"web_search_preview"},"tools":[]}""", "tool_choice")]
    [InlineData("""{"input":[{"type":"reasoning","summary":[]}]}""", "input[0].type")]
    [InlineData("""{"model":"tiny-test"}""", "input")]
    public async Task Fields_the_server_cannot_honour_are_400s_naming_the_field(string body, string param)
    {
        using var response = await _gw.PostJsonAsync("/v1/responses", body, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        if (param == "max_output_tokens") Assert.Contains("max_output_tokens", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }
}
