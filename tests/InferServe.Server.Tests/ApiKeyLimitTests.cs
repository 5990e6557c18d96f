using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using InferServe.Api.Grpc;
using InferServe.Api.Grpc.V1;
using InferServe.Grpc;
using InferServe.Server.Tests.Support;

namespace InferServe.Server.Tests;

/// <summary>
/// Per-key API limits: `--api-key KEY:N` lets a key have at most N requests in flight, over HTTP (429) and gRPC
/// (RESOURCE_EXHAUSTED); other keys are not affected, and a slot is free again once its request ends.
/// A request is held in flight by sending only part of its body (the server waits for the rest).
/// </summary>
public sealed class ApiKeyLimitTests : IAsyncLifetime
{
    private const string Limited = "sk-limited-key-0001";
    private const string Free = "sk-unlimited-key-0002";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly int _grpcPort = ServerPortPicker.Free();
    private TestServer _gw = null!;

    public async ValueTask InitializeAsync() => _gw = await TestServer.StartAsync(s =>
    {
        s.ApiKeys = [Limited + ":1", Free];
        s.GrpcPort = _grpcPort;
    });

    public async ValueTask DisposeAsync() => await _gw.DisposeAsync();

    private HttpClient Client(string key)
    {
        var http = new HttpClient { BaseAddress = _gw.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    [Fact(Timeout = 120_000)]
    public async Task Http_a_key_over_its_limit_gets_429_while_other_keys_pass_and_the_slot_frees_when_the_request_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        using var limited = Client(Limited);
        using var free = Client(Free);
        var body = Encoding.UTF8.GetBytes($$"""{"model":"{{TestServer.ModelName}}","prompt":"Once upon a time","max_tokens":3,"temperature":0}""");
        var held = new HeldBody(body);
        var first = limited.PostAsync("/v1/completions", held, ct);
        await held.Started.WaitAsync(Wait, ct);

        // The server counts the held request once its headers are in: from then on the key is at its limit.
        var refused = await UntilAsync(() => limited.GetAsync("/v1/models", ct), r => r.StatusCode == HttpStatusCode.TooManyRequests, ct);
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Equal("concurrency_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("1 requests in flight", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await free.GetAsync("/v1/models", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await limited.GetAsync("/health", ct)).StatusCode); // probes carry no key and no count

        held.Release();
        var answer = await first;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await UntilAsync(() => limited.GetAsync("/v1/models", ct), r => r.StatusCode == HttpStatusCode.OK, ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Grpc_a_key_over_its_limit_gets_resource_exhausted_while_other_keys_pass()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = new GrpcClient(new Uri($"http://127.0.0.1:{_grpcPort}"));
        CallOptions As(string key) => new() { Headers = [new("authorization", "Bearer " + key)], CancellationToken = ct };

        // A server-streaming method called as a stream whose request message has not been written yet: in flight until it is.
        using var held = client.Duplex(InferenceMethods.Generate, As(Limited));
        var exhausted = await UntilAsync(() => CodeOfAsync(client.UnaryAsync(InferenceMethods.GetModelInfo, new ModelInfoRequest(), As(Limited))),
            code => code == StatusCode.ResourceExhausted, ct);
        Assert.Equal(StatusCode.ResourceExhausted, exhausted);
        Assert.Equal(StatusCode.OK, await CodeOfAsync(client.UnaryAsync(InferenceMethods.GetModelInfo, new ModelInfoRequest(), As(Free))));

        await held.RequestStream.WriteAsync(new GenerateRequest { Text = "Once upon a time", MaxTokens = 3, Temperature = 0 });
        await held.RequestStream.CompleteAsync();
        int tokens = 0;
        await foreach (var chunk in held.ResponseStream.ReadAllAsync(ct)) tokens += chunk.TokenIds.Count;
        Assert.Equal(3, tokens);
        await UntilAsync(() => CodeOfAsync(client.UnaryAsync(InferenceMethods.GetModelInfo, new ModelInfoRequest(), As(Limited))), code => code == StatusCode.OK, ct);
    }

    private static async Task<StatusCode> CodeOfAsync<T>(Task<T> call)
    {
        try
        {
            await call;
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>Repeats <paramref name="attempt"/> until its result satisfies <paramref name="done"/>: waits on the server's state, bounded.</summary>
    private static async Task<T> UntilAsync<T>(Func<Task<T>> attempt, Func<T, bool> done, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Wait);
        while (true)
        {
            var result = await attempt();
            if (done(result)) return result;
            await Task.Delay(20, timeout.Token);
        }
    }

    /// <summary>A request body sent in two halves: the second only after <see cref="Release"/>.</summary>
    private sealed class HeldBody : HttpContent
    {
        private readonly byte[] bytes;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldBody(byte[] body)
        {
            bytes = body;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        public Task Started => _started.Task;
        public void Release() => _release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await stream.FlushAsync();
            _started.TrySetResult();
            await _release.Task;
            await stream.WriteAsync(bytes.AsMemory(bytes.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
