using System.Net;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests.Responses;

/// <summary>/v1/responses in the server's life: a dropped stream frees its KV, keys and their limits apply, requests are counted.</summary>
public sealed class ResponsesLifecycleTests(ToolModelFixture fixture) : IClassFixture<ToolModelFixture>
{
    private readonly TestServer _gw = fixture.Gateway;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Opens a streamed response on a raw socket (so closing it really drops the connection) and reads until three text deltas arrived.</summary>
    private static async Task<System.Net.Sockets.Socket> OpenStreamAsync(TestServer gw, string key)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(gw.BaseAddress.Host, gw.BaseAddress.Port, Ct);
        var json = """{"input":"A very long story","max_output_tokens":600,"temperature":1,"seed":5,"stream":true}""";
        await socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(
            $"POST /v1/responses HTTP/1.1\r\nHost: {gw.BaseAddress.Authority}\r\nAuthorization: Bearer {key}\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {System.Text.Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}"), Ct);
        var reader = new StreamReader(new System.Net.Sockets.NetworkStream(socket, ownsSocket: false));
        Assert.StartsWith("HTTP/1.1 200", await reader.ReadLineAsync(Ct));
        int deltas = 0;
        while (deltas < 3 && await reader.ReadLineAsync(Ct) is { } line)
            if (line == "event: response.output_text.delta") deltas++;
        Assert.Equal(3, deltas);
        return socket;
    }

    [Fact(Timeout = 120_000)]
    public async Task Dropping_a_stream_cancels_the_generation_and_frees_its_kv_blocks()
    {
        var engine = _gw.Engine;
        await Eventually.WaitUntilAsync(() => engine.Stats.Running == 0, () => $"an idle engine: {engine.Stats}");
        var before = engine.Stats;
        using var socket = await OpenStreamAsync(_gw, TestServer.ApiKey);
        Assert.True(engine.Stats.Running > 0, "the response should still be generating");

        socket.Close();
        await Eventually.WaitUntilAsync(() => engine.Stats.Running == 0 && engine.Stats.FreeBlocks == before.FreeBlocks, () => $"the abort to free the blocks: {engine.Stats}");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_stream_holds_its_keys_concurrency_slot_until_it_ends()
    {
        const string limited = "sk-responses-one:1";
        await using var gw = await TestServer.StartAsync(s => s.ApiKeys = [limited]);
        using var http = new HttpClient { BaseAddress = gw.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "sk-responses-one");
        using (var socket = await OpenStreamAsync(gw, "sk-responses-one"))
        {
            using var refused = await http.PostAsync("/v1/responses", new StringContent("""{"input":"x","max_output_tokens":1}""", System.Text.Encoding.UTF8, "application/json"), Ct);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Contains("concurrency_limit_exceeded", await refused.Content.ReadAsStringAsync(Ct));
        }
        // The slot frees once the server has finished the dropped stream: until then the key is still at its limit.
        HttpStatusCode status;
        do
        {
            using var next = await http.GetAsync("/v1/models", Ct);
            status = next.StatusCode;
        } while (status == HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact(Timeout = 60_000)]
    public async Task Requests_are_counted_on_the_metrics_endpoint_under_their_route()
    {
        using (var created = await _gw.PostJsonAsync("/v1/responses", """{"input":"Hi","max_output_tokens":2}""", Ct))
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        using var missing = await _gw.Http.GetAsync("/v1/responses/resp_missing", Ct);
        var metrics = await _gw.Http.GetStringAsync("/metrics", Ct);
        Assert.Matches("""inferserve_http_requests_total\{endpoint="/v1/responses",method="POST",status="200"\} [1-9]""", metrics);
        Assert.Matches("""inferserve_http_requests_total\{endpoint="/v1/responses/\{id\}",method="GET",status="404"\} [1-9]""", metrics);
        Assert.Matches("""inferserve_response_store_entries [1-9]""", metrics);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_endpoint_needs_the_api_key()
    {
        using var response = await _gw.Anonymous.PostAsync("/v1/responses", new StringContent("""{"input":"x"}""", System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var get = await _gw.Anonymous.GetAsync("/v1/responses/resp_x", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);
    }
}
