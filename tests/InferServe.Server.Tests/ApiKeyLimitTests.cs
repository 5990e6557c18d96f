using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Grpc.Core;
using InferServe.Api.Grpc.V1;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>
/// Per-key API limits: `--api-key KEY:N` lets a key have at most N requests in flight, over HTTP (429) and gRPC
/// (RESOURCE_EXHAUSTED); other keys are not affected, and a slot is free again once its request ends.
/// A request is held in flight by holding the engine after its first step: nothing waits on the wire, so no server
/// timeout can end it early.
/// </summary>
public sealed class ApiKeyLimitTests : IAsyncLifetime
{
    private const string Limited = "sk-limited-key-0001";
    private const string Free = "sk-unlimited-key-0002";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private TestServer _gw = null!;

    public async ValueTask InitializeAsync() => _gw = await TestServer.StartAsync(s =>
    {
        s.ApiKeys = [Limited + ":1", Free];
    }, stepGate: true, grpc: true);

    public async ValueTask DisposeAsync() => await _gw.DisposeAsync();

    private HttpClient Client(string key)
    {
        var http = new HttpClient { BaseAddress = _gw.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    [Fact(Timeout = 120_000)]
    public async Task A_key_over_its_limit_gets_resource_exhausted_and_429_while_other_keys_pass_and_the_slot_frees_when_the_call_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        using var clientChannel = GrpcCalls.Channel($"http://127.0.0.1:{_gw.GrpcPort}");
        var client = new InferServe.Api.Grpc.V1.Inference.InferenceClient(clientChannel);
        CallOptions As(string key) => GrpcCalls.WithKey(key, ct);

        Assert.Equal(StatusCode.OK, await CodeOfAsync(client.GetModelInfoAsync(new ModelInfoRequest(), As(Limited)).ResponseAsync));
        using var hold = _gw.Steps!.HoldNextStep(); // released below; the using releases it if an assertion fails first
        var held = client.CompleteAsync(new GenerateRequest { Text = "Once upon a time", MaxTokens = 3, Temperature = 0 }, As(Limited)).ResponseAsync;
        await _gw.Steps.Holding.WaitAsync(Wait, ct);

        var exhausted = await UntilAsync(() => CodeOfAsync(client.GetModelInfoAsync(new ModelInfoRequest(), As(Limited)).ResponseAsync),
            code => code == StatusCode.ResourceExhausted, ct);
        Assert.Equal(StatusCode.ResourceExhausted, exhausted);
        Assert.Equal(StatusCode.OK, await CodeOfAsync(client.GetModelInfoAsync(new ModelInfoRequest(), As(Free)).ResponseAsync));
        // The same slot counts over HTTP: 429 in OpenAI's shape, with Retry-After.
        using var limited = Client(Limited);
        using var refused = await limited.GetAsync("/v1/models", ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        Assert.Equal(("rate_limit_error", "concurrency_limit_exceeded"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        using var free = Client(Free);
        Assert.Equal(HttpStatusCode.OK, (await free.GetAsync("/v1/models", ct)).StatusCode);

        hold.Dispose();
        Assert.Equal(StatusCode.OK, await CodeOfAsync(held));
        await UntilAsync(() => CodeOfAsync(client.GetModelInfoAsync(new ModelInfoRequest(), As(Limited)).ResponseAsync), code => code == StatusCode.OK, ct);
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
            try { await Task.Delay(20, timeout.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { throw new TimeoutException($"Still {result} after {Wait}."); }
        }
    }
}
