using System.Net;
using System.Text;
using System.Text.Json;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;



namespace InferServe.Server.Tests;

public sealed class ClientDisconnectTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private readonly TestServer _gw = fixture.Gateway;

    [Fact]
    public async Task Disconnecting_mid_stream_aborts_the_request_and_frees_its_kv_blocks_within_a_second()
    {
        var engine = _gw.Engine;
        var before = engine.Stats;
        Assert.Equal(0, before.Running);
        double abortsBefore = await AbortCount();

        // A raw socket, so "disconnect" means the TCP connection really closes (HttpClient would drain the body to reuse it).
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(_gw.BaseAddress.Host, _gw.BaseAddress.Port);
        var json = """{"prompt":"A long story","max_tokens":1000,"n":4,"ignore_eos":true,"stream":true}""";
        var head = $"POST /v1/completions HTTP/1.1\r\nHost: {_gw.BaseAddress.Authority}\r\nAuthorization: Bearer {TestServer.ApiKey}\r\n" +
                   $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";
        await socket.SendAsync(Encoding.UTF8.GetBytes(head));
        var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: false);
        var reader = new StreamReader(stream);
        Assert.StartsWith("HTTP/1.1 200", await reader.ReadLineAsync());
        int chunks = 0;
        while (chunks < 3 && await reader.ReadLineAsync() is { } line)
            if (line.StartsWith("data: {", StringComparison.Ordinal)) chunks++;
        Assert.Equal(3, chunks);
        Assert.True(engine.Stats.Running > 0, "the request should still be generating");
        Assert.True(engine.Stats.FreeBlocks < before.FreeBlocks);

        // Drop the connection.
        socket.Close();

        await Eventually.WaitUntilAsync(() => engine.Stats.Running == 0 && engine.Stats.FreeBlocks == before.FreeBlocks, () => $"the abort to free the blocks: {engine.Stats}");
        var after = engine.Stats;
        Assert.Equal(0, after.Running);
        Assert.Equal(0, after.Waiting);
        Assert.Equal(before.FreeBlocks, after.FreeBlocks);
        Assert.Equal(before.KvUsage, after.KvUsage);
        Assert.Equal(abortsBefore + 1, await AbortCount());
    }

    [Fact]
    public async Task Disconnecting_while_waiting_for_a_non_streaming_response_aborts_the_request()
    {
        var engine = _gw.Engine;
        await Eventually.WaitUntilAsync(() => engine.Stats.Running == 0, () => $"an idle engine: {engine.Stats}");
        var before = engine.Stats;
        double abortsBefore = await AbortCount();

        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(_gw.BaseAddress.Host, _gw.BaseAddress.Port);
        var json = """{"prompt":"Another long story","max_tokens":1000,"n":4,"ignore_eos":true}""";
        await socket.SendAsync(Encoding.UTF8.GetBytes(
            $"POST /v1/completions HTTP/1.1\r\nHost: {_gw.BaseAddress.Authority}\r\nAuthorization: Bearer {TestServer.ApiKey}\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}"));
        await Eventually.WaitUntilAsync(() => engine.Stats.Running > 0, () => "the request to start generating");
        socket.Close();

        await Eventually.WaitUntilAsync(() => engine.Stats.Running == 0 && engine.Stats.FreeBlocks == before.FreeBlocks, () => $"the abort to free the blocks: {engine.Stats}");
        Assert.Equal(0, engine.Stats.Running);
        Assert.Equal(before.FreeBlocks, engine.Stats.FreeBlocks);
        Assert.Equal(abortsBefore + 1, await AbortCount());
    }

    private async Task<double> AbortCount()
    {
        var text = await _gw.Anonymous.GetStringAsync("/metrics");
        var line = text.Split('\n').Single(l => l.StartsWith("inferserve_request_success", StringComparison.Ordinal) && l.Contains("finished_reason=\"abort\""));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}

public sealed class QueueFullFixture : GatewayFixture
{
    protected override void Configure(TestSettings settings)
    {
        settings.Engine.MaxSeqs = 1;
        settings.Engine.MaxQueue = 2;
    }
}

public sealed class QueueFullTests(QueueFullFixture fixture) : IClassFixture<QueueFullFixture>
{
    private readonly TestServer _gw = fixture.Gateway;

    [Fact]
    public async Task A_burst_beyond_the_waiting_queue_gets_429_with_retry_after_and_every_accepted_request_completes()
    {
        const int Burst = 12, MaxTokens = 150;
        var tasks = Enumerable.Range(0, Burst).Select(async i =>
        {
            var response = await _gw.PostJsonAsync("/v1/completions", $$"""{"prompt":"Request {{i}}","max_tokens":{{MaxTokens}},"ignore_eos":true}""");
            return (response, await response.Content.ReadAsStringAsync());
        }).ToArray();
        var results = await Task.WhenAll(tasks);

        var accepted = results.Where(r => r.response.StatusCode == HttpStatusCode.OK).ToList();
        var rejected = results.Where(r => r.response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(Burst, accepted.Count + rejected.Count);
        Assert.NotEmpty(rejected);
        Assert.True(accepted.Count >= 2, $"at least --max-queue requests should be accepted, got {accepted.Count}");
        foreach (var (response, body) in accepted)
            Assert.Equal(MaxTokens, JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        foreach (var (response, body) in rejected)
        {
            Assert.True(response.Headers.RetryAfter is not null, "429 must carry Retry-After");
            var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
            Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        }
        Assert.Equal(0, _gw.Engine.Stats.Running + _gw.Engine.Stats.Waiting);

        // Once the burst has drained, requests are accepted again.
        var (again, _) = await _gw.PostAsync("/v1/completions", new { prompt = "After", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }
}

public sealed class MetricsTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private readonly TestServer _gw = fixture.Gateway;

    [Fact(Timeout = 120_000)]
    public async Task Metrics_report_engine_http_and_process_series_and_pass_promtool_check_metrics()
    {
        var (r, _) = await _gw.PostAsync("/v1/completions", new { prompt = "Count tokens", max_tokens = 4 });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var response = await _gw.Anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        foreach (var name in new[] { "inferserve_num_requests_running", "inferserve_num_requests_waiting", "inferserve_kv_cache_usage_perc",
                     "inferserve_generation_tokens", "inferserve_time_to_first_token_seconds", "inferserve_e2e_request_latency_seconds",
                     "inferserve_cache_config_info" })
        {
            Assert.Contains(name, text);
        }

        Assert.Contains($"model_name=\"{TestServer.ModelName}\"", text);
        Assert.Matches("inferserve_request_success[a-z_]*\\{[^}]*finished_reason=\"length\"[^}]*\\} [1-9]", text);
        Assert.DoesNotContain("inferserve:", text);
        // prometheus-net's HTTP metrics (labelled with the route) and its process/runtime metrics share the registry.
        Assert.Matches("http_requests_received_total\\{[^}]*endpoint=\"/v1/completions\"[^}]*\\} [1-9]", text);
        Assert.Contains("# TYPE http_request_duration_seconds histogram", text);
        foreach (var name in new[] { "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "dotnet_total_memory_bytes" })
            Assert.Contains($"\n{name} ", text);

        var promtool = PrometheusTools.Require(PrometheusTools.Promtool);
        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], text, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"promtool check metrics failed:\n{result.StdOut}\n{result.StdErr}");
    }
}

public sealed class ReadinessTests
{
    [Fact]
    public async Task Ready_is_503_until_the_model_loads_while_health_is_always_200()
    {
        await using var gw = await TestServer.StartAsync(loadModel: false);
        Assert.Equal(HttpStatusCode.OK, (await gw.Anonymous.GetAsync("/health")).StatusCode);
        var notReady = await gw.Anonymous.GetAsync("/ready");
        await BadRequestTests.AssertOpenAiError(notReady, 503, null);
        var completion = await gw.PostJsonAsync("/v1/completions", """{"prompt":"Hi"}""");
        await BadRequestTests.AssertOpenAiError(completion, 503, null);
        Assert.Equal(HttpStatusCode.OK, (await gw.Http.GetAsync("/v1/models")).StatusCode);

        await gw.Server.StartLoadingModel();
        Assert.Equal(HttpStatusCode.OK, (await gw.Anonymous.GetAsync("/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gw.Anonymous.GetAsync("/health")).StatusCode);
        var (ok, _) = await gw.PostAsync("/v1/completions", new { prompt = "Hi", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task A_model_that_fails_to_load_keeps_ready_at_503_with_the_reason()
    {
        await using var gw = await TestServer.StartAsync(s => s.Engine.Model = "/nonexistent/model-dir", loadModel: false);
        await gw.Server.StartLoadingModel();
        var response = await gw.Anonymous.GetAsync("/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("model_load_failed", body);
        Assert.DoesNotContain("/nonexistent", body);
        Assert.Equal(HttpStatusCode.OK, (await gw.Anonymous.GetAsync("/health")).StatusCode);
    }
}

/// <summary>The real llama2.c stories260K checkpoint (present only on the project's machines).</summary>
public sealed class Stories260KTests
{
    [Fact]
    public async Task Greedy_completion_of_once_upon_a_time_tells_of_lily()
    {
        var dir = TestPaths.RequireStories260K();
        await using var gw = await TestServer.StartAsync(s =>
        {
            s.Engine.Model = Path.Combine(dir, "stories260K.bin");
            s.Engine.Tokenizer = Path.Combine(dir, "tok512.bin");
        }, servedName: "stories260K");

        var client = gw.OpenAI();
        var models = await client.GetOpenAIModelClient().GetModelsAsync();
        Assert.Equal("stories260K", Assert.Single(models.Value).Id);

        var (response, body) = await gw.PostAsync("/v1/completions", new { model = "stories260K", prompt = "Once upon a time", max_tokens = 12, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = body.GetProperty("choices")[0].GetProperty("text").GetString();
        Assert.StartsWith(", there was a little girl named Lily", text);

        // Streaming gives the same text.
        var streamed = await gw.PostJsonAsync("/v1/completions", """{"model":"stories260K","prompt":"Once upon a time","max_tokens":12,"temperature":0,"stream":true}""");
        var (events, done) = await Sse.ReadAllAsync(streamed);
        Assert.True(done);
        Assert.Equal(text, string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("text").GetString())));

        // No chat template in a llama2.c checkpoint (the CLI gives one; this host has none): chat is a clear 400 in
        // llama2.c's terms, not pointing at a tokenizer_config.json such a file never has.
        var chat = await gw.PostJsonAsync("/v1/chat/completions", """{"model":"stories260K","messages":[{"role":"user","content":"Hi"}]}""");
        var error = await chat.Content.ReadAsStringAsync();
        Assert.Contains("llama2.c checkpoint", error);
        Assert.Contains("chat_template.jinja", error);
        Assert.DoesNotContain("tokenizer_config.json", error);
        await BadRequestTests.AssertOpenAiError(chat, 400, "messages");
    }

    [Fact]
    public async Task The_openai_sdk_chats_and_streams_with_a_template_given_on_the_command_line()
    {
        var dir = TestPaths.RequireStories260K();
        // A story prompt "template": the user's words become the story opening.
        await using var gw = await TestServer.StartAsync(s =>
        {
            s.Engine.Model = Path.Combine(dir, "stories260K.bin");
            s.ChatTemplate = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
        }, servedName: "stories260K");
        var chat = gw.OpenAI().GetChatClient("stories260K");
        var options = new OpenAI.Chat.ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 };

        var completion = (await chat.CompleteChatAsync([new OpenAI.Chat.UserChatMessage("Once upon a time")], options)).Value;
        var text = completion.Content[0].Text;
        Assert.StartsWith(", there was a little girl named Lily", text);
        Assert.Equal(12, completion.Usage.OutputTokenCount);

        var streamed = new System.Text.StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new OpenAI.Chat.UserChatMessage("Once upon a time")], options))
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
        Assert.Equal(text, streamed.ToString());
    }
}

