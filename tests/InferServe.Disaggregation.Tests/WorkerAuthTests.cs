using System.Net;
using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.Grpc;
using InferServe.ModelGen;
using InferServe.Tests.Shared;
using InferServe.Tests.Support;
using InferServe.Transport;
using InferServe.Transport.V1;

namespace InferServe.Disaggregation.Tests;

/// <summary>
/// Authenticated worker links between real processes: with mutual TLS (a test CA) or a shared token, the gateway and
/// the workers serve end to end, while a caller without the credentials gets UNAUTHENTICATED from every worker method
/// (above all PullKv: it cannot read a prompt's KV) and from the gateway's Registry.
/// </summary>
public sealed class WorkerAuthTests
{
    private const string Token = "test-worker-token-0123456789abcdef";

    private static string TinyModel() => TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));

    private static JsonObject Completion(string prompt) => new()
    {
        ["model"] = Topology.ServedName, ["prompt"] = prompt, ["max_tokens"] = 8, ["temperature"] = 0,
    };

    private const string LongPrompt = "Once upon a time there was a little dog named Max. Max liked to run in the park with his friend Sam every day.";

    [Fact(Timeout = 300_000)]
    public async Task With_mutual_tls_the_gateway_serves_end_to_end_and_a_caller_without_a_ca_certificate_cannot_pull_kv()
    {
        var ct = TestContext.Current.CancellationToken;
        using var certs = TestCertificates.Create();
        await using var t = await Topology.StartAsync(new TopologyOptions
        {
            Model = TinyModel(),
            WorkerTls = true,
            LinkArgs = ["--worker-tls-cert", certs.NodeCertPath, "--worker-tls-key", certs.NodeKeyPath, "--worker-ca", certs.CaPath],
        }, ct);

        // End to end: the gateway reaches both workers and the decode worker pulls the prompt's KV from the prefill worker.
        var answer = await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions", Completion(LongPrompt), ct);
        Assert.Contains("\"finish\"", answer);
        var decode = t.Decode[0];
        Assert.True(await decode.MetricAsync("inferserve_kv_transfer_blocks_total", "direction=\"received\"", ct) > 0, t.Logs());
        Assert.Equal(0, await decode.MetricAsync("inferserve_kv_import_fallbacks", ct: ct));

        var prefill = new Uri($"https://127.0.0.1:{t.Prefill[0].GrpcPort}");
        using var trusted = new GrpcClient(prefill, new GrpcClientOptions { ClientCertificate = certs.Node, TrustedRoots = [certs.Ca] });
        using var anonymous = new GrpcClient(prefill, new GrpcClientOptions { TrustedRoots = [certs.Ca] });
        using var rogue = new GrpcClient(prefill, new GrpcClientOptions { ClientCertificate = certs.Rogue, TrustedRoots = [certs.Ca] });

        // A real lease: the prompt's KV blocks wait on the prefill worker for pickup.
        var prefilled = await trusted.UnaryAsync(WorkerMethods.Prefill, new PrefillRequest { Request = PrefillOf(40) }, CallOptions.FromTimeout(TimeSpan.FromSeconds(60), ct));
        Assert.NotEmpty(prefilled.LeaseId);
        Assert.True(prefilled.Blocks > 0);

        foreach (var (client, why) in new[] { (anonymous, "no client certificate"), (rogue, "not signed by the worker CA") })
        {
            var pull = await CodeOfAsync(() => DrainAsync(client.ServerStreaming(WorkerMethods.PullKv, new PullKvRequest { LeaseId = prefilled.LeaseId }, CallOptions.FromTimeout(TimeSpan.FromSeconds(30), ct)), ct));
            Assert.Equal((StatusCode.Unauthenticated, why), (pull.Code, pull.Detail.Contains(why) ? why : pull.Detail));
            await AssertEveryWorkerMethodRefusedAsync(client, ct);
        }
        Assert.Contains("Refused worker-link call /inferserve.worker.v1.Worker/PullKv", t.Prefill[0].Output);

        // The lease was not consumed by the refused pulls: the credentialed caller still gets every block.
        var blocks = await DrainAsync(trusted.ServerStreaming(WorkerMethods.PullKv, new PullKvRequest { LeaseId = prefilled.LeaseId }, CallOptions.FromTimeout(TimeSpan.FromSeconds(30), ct)), ct);
        Assert.Equal(prefilled.Blocks, blocks);
        await t.Prefill[0].WaitKvIdleAsync(ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task With_a_shared_token_workers_register_and_serve_while_callers_without_the_token_are_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = TinyModel();
        var env = new Dictionary<string, string> { ["INFERSERVE_WORKER_TOKEN"] = Token };
        string[] common = ["--served-model-name", Topology.ServedName, "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1", "--no-ort-spinning", "--kv-cache-memory", "16MiB"];
        await using var gateway = ServerProcess.Start("gateway", ["--role", "gateway", "--model", model, "--served-model-name", Topology.ServedName, "--remote-prefill-min-tokens", "0"], env);
        await gateway.WaitReadyAsync(ct, HttpStatusCode.ServiceUnavailable);
        await using var prefill = ServerProcess.Start("prefill", ["--role", "prefill", "--model", model, "--gateway", gateway.GrpcAddress, .. common], env);
        await using var decode = ServerProcess.Start("decode", ["--role", "decode", "--model", model, "--gateway", gateway.GrpcAddress, .. common], env);
        await gateway.WaitReadyAsync(ct);
        // Ready needs only a decode worker while no prefill worker has registered yet: wait for both.
        await gateway.WaitForMetricAsync("both workers registered and healthy", async g => await g.MetricAsync("inferserve_worker_healthy", ct: ct) == 2, TimeSpan.FromSeconds(60), ct);

        var answer = await OpenAiCalls.RunAsync(gateway.HttpBase, "/v1/completions", Completion(LongPrompt), ct);
        Assert.Contains("\"finish\"", answer);
        Assert.True(await decode.MetricAsync("inferserve_kv_transfer_blocks_total", "direction=\"received\"", ct) > 0, decode.Output);

        using var worker = new GrpcClient(new Uri(prefill.GrpcAddress));
        await AssertEveryWorkerMethodRefusedAsync(worker, ct);
        await AssertEveryWorkerMethodRefusedAsync(worker, ct, "Bearer not-the-worker-token-at-all");
        var info = await worker.UnaryAsync(WorkerMethods.GetInfo, new InfoRequest(), WithToken("Bearer " + Token, ct));
        Assert.Equal("prefill", info.Role);

        // The gateway's Registry takes the worker token, not an API key and not nothing: no stranger can join the pool.
        using var registry = new GrpcClient(new Uri(gateway.GrpcAddress));
        var register = new RegisterRequest { Address = "http://127.0.0.1:1", Info = info };
        var refused = await CodeOfAsync(() => registry.UnaryAsync(WorkerMethods.Register, register, CallOptions.FromTimeout(TimeSpan.FromSeconds(30), ct)));
        Assert.Equal(StatusCode.Unauthenticated, refused.Code);
        Assert.Equal(2, await gateway.MetricAsync("inferserve_worker_healthy", ct: ct));
    }

    private static Request PrefillOf(int tokens)
    {
        var request = new Request { RequestId = "auth-test", MaxTokens = 4, N = 1, Sampling = new Sampling { Temperature = 0, TopP = 1, RepetitionPenalty = 1 } };
        for (int i = 0; i < tokens; i++) request.Prompt.Add(10 + i);
        return request;
    }

    private static CallOptions WithToken(string authorization, CancellationToken ct) => new()
    {
        Headers = [new("authorization", authorization)], Deadline = DateTime.UtcNow.AddSeconds(30), CancellationToken = ct,
    };

    /// <summary>Every method of the worker protocol answers UNAUTHENTICATED to this caller.</summary>
    private static async Task AssertEveryWorkerMethodRefusedAsync(GrpcClient client, CancellationToken ct, string? authorization = null)
    {
        CallOptions Options() => authorization is null ? CallOptions.FromTimeout(TimeSpan.FromSeconds(30), ct) : WithToken(authorization, ct);
        var calls = new (string Name, Func<Task> Call)[]
        {
            ("GetInfo", () => client.UnaryAsync(WorkerMethods.GetInfo, new InfoRequest(), Options())),
            ("Watch", () => DrainAsync(client.ServerStreaming(WorkerMethods.Watch, new WatchRequest { IntervalMs = 50 }, Options()), ct)),
            ("Prefill", () => client.UnaryAsync(WorkerMethods.Prefill, new PrefillRequest { Request = PrefillOf(20) }, Options())),
            ("PullKv", () => DrainAsync(client.ServerStreaming(WorkerMethods.PullKv, new PullKvRequest { LeaseId = "any" }, Options()), ct)),
            ("ReleaseKv", () => client.UnaryAsync(WorkerMethods.ReleaseKv, new ReleaseKvRequest { LeaseId = "any" }, Options())),
            ("Decode", () => DrainAsync(client.ServerStreaming(WorkerMethods.Decode, new DecodeRequest { Request = PrefillOf(20) }, Options()), ct)),
        };
        foreach (var (name, call) in calls)
            Assert.Equal((name, StatusCode.Unauthenticated), (name, (await CodeOfAsync(call)).Code));
    }

    private static async Task<int> DrainAsync<TRequest, TResponse>(ServerStreamingCall<TRequest, TResponse> call, CancellationToken ct)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
        where TResponse : class, Google.Protobuf.IMessage<TResponse>, new()
    {
        using (call)
        {
            int blocks = 0;
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct))
                blocks += message is KvChunk chunk ? chunk.NumBlocks : 1;
            return blocks;
        }
    }

    private static async Task<(StatusCode Code, string Detail)> CodeOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return (StatusCode.OK, "");
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail);
        }
    }
}
