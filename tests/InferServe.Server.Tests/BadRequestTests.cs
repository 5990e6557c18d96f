using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>Every bad request gets its documented status and an OpenAI-shaped error, and the server keeps serving.</summary>
public sealed class BadRequestTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private readonly TestServer _gw = fixture.Gateway;

    public enum Auth { Key, None, WrongKey }

    public sealed record Case(string Name, string Method, string Path, string? Body, int Status, string? Param = null, Auth Auth = Auth.Key)
    {
        public override string ToString() => Name;
    }

    private const string Chat = "/v1/chat/completions";
    private const string Completions = "/v1/completions";
    private const string Msgs = """ "messages":[{"role":"user","content":"Hi"}] """;

    public static TheoryData<Case> Cases => new(
        new Case("malformed JSON", "POST", Completions, """{"prompt": "Hi", """, 400),
        new Case("empty body", "POST", Completions, "", 400),
        new Case("body is an array", "POST", Completions, """["prompt"]""", 400),
        new Case("prompt missing", "POST", Completions, """{"max_tokens":3}""", 400, "prompt"),
        new Case("prompt of wrong type", "POST", Completions, """{"prompt":{"text":"Hi"}}""", 400, "prompt"),
        new Case("empty prompt string", "POST", Completions, """{"prompt":""}""", 400, "prompt"),
        new Case("empty prompt array", "POST", Completions, """{"prompt":[]}""", 400, "prompt"),
        new Case("prompt token id out of vocabulary", "POST", Completions, """{"prompt":[1,2,999999]}""", 400, "prompt"),
        new Case("negative prompt token id", "POST", Completions, """{"prompt":[-1]}""", 400, "prompt"),
        new Case("max_tokens is a string", "POST", Completions, """{"prompt":"Hi","max_tokens":"10"}""", 400, "max_tokens"),
        new Case("max_tokens is fractional", "POST", Completions, """{"prompt":"Hi","max_tokens":1.5}""", 400, "max_tokens"),
        new Case("max_tokens zero", "POST", Completions, """{"prompt":"Hi","max_tokens":0}""", 400, "max_tokens"),
        new Case("max_tokens beyond the context", "POST", Completions, """{"prompt":"Hi","max_tokens":100000}""", 400, "max_tokens"),
        new Case("negative temperature", "POST", Completions, """{"prompt":"Hi","temperature":-0.5}""", 400, "temperature"),
        new Case("temperature is a string", "POST", Completions, """{"prompt":"Hi","temperature":"hot"}""", 400, "temperature"),
        new Case("top_p zero", "POST", Completions, """{"prompt":"Hi","top_p":0}""", 400, "top_p"),
        new Case("top_p above one", "POST", Completions, """{"prompt":"Hi","top_p":1.5}""", 400, "top_p"),
        new Case("top_k below -1", "POST", Completions, """{"prompt":"Hi","top_k":-5}""", 400, "top_k"),
        new Case("min_p above one", "POST", Completions, """{"prompt":"Hi","min_p":2}""", 400, "min_p"),
        new Case("presence_penalty out of range", "POST", Completions, """{"prompt":"Hi","presence_penalty":3}""", 400, "presence_penalty"),
        new Case("frequency_penalty out of range", "POST", Completions, """{"prompt":"Hi","frequency_penalty":-3}""", 400, "frequency_penalty"),
        new Case("repetition_penalty zero", "POST", Completions, """{"prompt":"Hi","repetition_penalty":0}""", 400, "repetition_penalty"),
        new Case("n zero", "POST", Completions, """{"prompt":"Hi","n":0}""", 400, "n"),
        new Case("n beyond max-seqs", "POST", Completions, """{"prompt":"Hi","n":100}""", 400, "n"),
        new Case("logprobs above 20", "POST", Completions, """{"prompt":"Hi","logprobs":21}""", 400, "logprobs"),
        new Case("stream is a string", "POST", Completions, """{"prompt":"Hi","stream":"yes"}""", 400, "stream"),
        new Case("stream_options without stream", "POST", Completions, """{"prompt":"Hi","stream_options":{"include_usage":true}}""", 400, "stream_options"),
        new Case("stop with too many entries", "POST", Completions, """{"prompt":"Hi","stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}""", 400, "stop"),
        new Case("stop with a number", "POST", Completions, """{"prompt":"Hi","stop":[1]}""", 400, "stop"),
        new Case("empty stop string", "POST", Completions, """{"prompt":"Hi","stop":""}""", 400, "stop"),
        new Case("seed is a string", "POST", Completions, """{"prompt":"Hi","seed":"42"}""", 400, "seed"),
        new Case("unknown model", "POST", Completions, """{"model":"gpt-9","prompt":"Hi"}""", 404, "model"),
        new Case("model is a number", "POST", Completions, """{"model":7,"prompt":"Hi"}""", 400, "model"),
        new Case("messages missing", "POST", Chat, """{"max_tokens":3}""", 400, "messages"),
        new Case("messages empty", "POST", Chat, """{"messages":[]}""", 400, "messages"),
        new Case("messages not an array", "POST", Chat, """{"messages":"Hi"}""", 400, "messages"),
        new Case("unknown role", "POST", Chat, """{"messages":[{"role":"wizard","content":"Hi"}]}""", 400, "messages[0].role"),
        new Case("message without role", "POST", Chat, """{"messages":[{"content":"Hi"}]}""", 400, "messages[0].role"),
        new Case("user message without content", "POST", Chat, """{"messages":[{"role":"user"}]}""", 400, "messages[0].content"),
        new Case("image content part", "POST", Chat, """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", 400, "messages[0].content"),
        new Case("chat top_logprobs without logprobs", "POST", Chat, "{" + Msgs + ""","top_logprobs":2}""", 400, "top_logprobs"),
        new Case("chat top_logprobs above 20", "POST", Chat, "{" + Msgs + ""","logprobs":true,"top_logprobs":21}""", 400, "top_logprobs"),
        new Case("chat logprobs is a number", "POST", Chat, "{" + Msgs + ""","logprobs":5}""", 400, "logprobs"),
        new Case("chat max_completion_tokens beyond the context", "POST", Chat, "{" + Msgs + ""","max_completion_tokens":5000}""", 400, "max_tokens"),
        new Case("missing API key", "POST", Completions, """{"prompt":"Hi"}""", 401, Auth: Auth.None),
        new Case("wrong API key", "POST", Completions, """{"prompt":"Hi"}""", 401, Auth: Auth.WrongKey),
        new Case("missing API key on models", "GET", "/v1/models", null, 401, Auth: Auth.None),
        new Case("unknown route", "GET", "/v1/engines", null, 404),
        new Case("unknown POST route", "POST", "/v2/completions", """{"prompt":"Hi"}""", 404),
        new Case("wrong method on completions", "GET", Completions, null, 405),
        new Case("wrong method on models", "POST", "/v1/models", "{}", 405),
        new Case("unknown model by id", "GET", "/v1/models/gpt-9", null, 404, "model"));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_request_gets_its_status_and_openai_error_shape_and_server_keeps_serving(Case c)
    {
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
        if (c.Body is not null) request.Content = new StringContent(c.Body, Encoding.UTF8, "application/json");
        var client = c.Auth == Auth.Key ? _gw.Http : _gw.Anonymous;
        if (c.Auth == Auth.WrongKey) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-not-the-key");
        using var response = await client.SendAsync(request);

        await AssertOpenAiError(response, c.Status, c.Param);
        await AssertStillServing();
    }

    [Fact]
    public async Task Body_over_the_size_limit_gets_413()
    {
        var big = new string('a', 100 * 1024);
        using var response = await _gw.PostJsonAsync("/v1/completions", JsonSerializer.Serialize(new { prompt = big }));
        await AssertOpenAiError(response, 413, null);
        await AssertStillServing();
    }

    [Fact]
    public async Task Chunked_body_over_the_size_limit_gets_413()
    {
        var json = JsonSerializer.Serialize(new { prompt = new string('b', 100 * 1024) });
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _gw.Http.SendAsync(request);
        await AssertOpenAiError(response, 413, null);
        await AssertStillServing();
    }

    [Fact]
    public async Task Health_ready_and_metrics_stay_open_without_a_key()
    {
        Assert.Equal(HttpStatusCode.OK, (await _gw.Anonymous.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _gw.Anonymous.GetAsync("/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _gw.Anonymous.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Unknown_fields_are_refused_naming_the_field_but_user_is_accepted()
    {
        using var response = await _gw.PostJsonAsync("/v1/completions", """{"prompt":"Hi","max_tokens":2,"some_future_field":{"a":1},"user":"u-1"}""");
        await AssertOpenAiError(response, 400, "some_future_field");
        var (ok, _) = await _gw.PostAsync("/v1/completions", new { prompt = "Hi", max_tokens = 2, user = "u-1" });
        Assert.Equal(200, (int)ok.StatusCode);
    }

    [Fact]
    public async Task Chat_template_raise_exception_is_a_400()
    {
        await using var gw = await TestServer.StartAsync(s => s.ChatTemplate = "{{ raise_exception('Conversation roles must alternate') }}");
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "Hi" } } });
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("roles must alternate", body.GetProperty("error").GetProperty("message").GetString());
    }

    internal static async Task AssertOpenAiError(HttpResponseMessage response, int status, string? param)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out var p));
        Assert.True(error.TryGetProperty("code", out _));
        if (param is not null) Assert.Equal(param, p.GetString());
        Assert.DoesNotContain("   at ", text); // no stack traces
    }

    private async Task AssertStillServing()
    {
        var (response, body) = await _gw.PostAsync("/v1/completions", new { prompt = "Still alive?", max_tokens = 2 });
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(2, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
