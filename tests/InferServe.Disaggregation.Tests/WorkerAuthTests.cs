using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Health.V1;
using InferServe.Disaggregation.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;
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

        var prefill = $"https://127.0.0.1:{t.Prefill[0].GrpcPort}";
        using var trustedChannel = new WorkerChannel(prefill, new WorkerLinkOptions { ClientCertificate = certs.Node, TrustedRoots = [certs.Ca] });
        using var anonymousChannel = new WorkerChannel(prefill, new WorkerLinkOptions { TrustedRoots = [certs.Ca] });
        using var rogueChannel = new WorkerChannel(prefill, new WorkerLinkOptions { ClientCertificate = certs.Rogue, TrustedRoots = [certs.Ca] });
        var (trusted, anonymous, rogue) = (trustedChannel.Worker, anonymousChannel.Worker, rogueChannel.Worker);

        // A real lease: the prompt's KV blocks wait on the prefill worker for pickup.
        var prefilled = await trusted.PrefillAsync(new PrefillRequest { Request = PrefillOf(40) }, GrpcCalls.Within(TimeSpan.FromSeconds(60), ct)).ResponseAsync;
        Assert.NotEmpty(prefilled.LeaseId);
        Assert.True(prefilled.Blocks > 0);

        foreach (var (client, why) in new[] { (anonymous, "no client certificate"), (rogue, "not signed by the worker CA") })
        {
            var pull = await CodeOfAsync(() => DrainAsync(client.PullKv(new PullKvRequest { LeaseId = prefilled.LeaseId }, GrpcCalls.Within(TimeSpan.FromSeconds(30), ct)), ct));
            Assert.Equal((StatusCode.Unauthenticated, why), (pull.Code, pull.Detail.Contains(why) ? why : pull.Detail));
            await AssertEveryWorkerMethodRefusedAsync(client, ct);
        }
        Assert.Contains("Refused worker-link call /inferserve.worker.v1.Worker/PullKv", t.Prefill[0].Output);

        // The lease was not consumed by the refused pulls: the credentialed caller still gets every block.
        var blocks = await DrainAsync(trusted.PullKv(new PullKvRequest { LeaseId = prefilled.LeaseId }, GrpcCalls.Within(TimeSpan.FromSeconds(30), ct)), ct);
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

        using var workerChannel = new WorkerChannel(prefill.GrpcAddress);
        using var registryChannel = new WorkerChannel(gateway.GrpcAddress);
        var registry = registryChannel.Registry;
        var worker = workerChannel.Worker;
        await AssertEveryWorkerMethodRefusedAsync(worker, ct);
        await AssertEveryWorkerMethodRefusedAsync(worker, ct, "Bearer not-the-worker-token-at-all");
        var info = await worker.GetInfoAsync(new InfoRequest(), WithToken("Bearer " + Token, ct)).ResponseAsync;
        Assert.Equal("prefill", info.Role);
        // The standard health service answers probes without the token, on the worker and on the gateway.
        foreach (var probed in new[] { workerChannel, registryChannel })
        {
            var health = await new Health.HealthClient(probed.CallInvoker).CheckAsync(new HealthCheckRequest(), GrpcCalls.Within(TimeSpan.FromSeconds(30), ct));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        }

        // The gateway's Registry takes the worker token, not an API key and not nothing: no stranger can join the pool.
        var register = new RegisterRequest { Address = "http://127.0.0.1:1", Info = info };
        var refused = await CodeOfAsync(() => registry.RegisterAsync(register, GrpcCalls.Within(TimeSpan.FromSeconds(30), ct)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.Code);
        Assert.Equal(2, await gateway.MetricAsync("inferserve_worker_healthy", ct: ct));
    }

    private static Request PrefillOf(int tokens)
    {
        var request = new Request { RequestId = "auth-test", MaxTokens = 4, N = 1, Sampling = new Sampling { Temperature = 0, TopP = 1, RepetitionPenalty = 1 } };
        for (int i = 0; i < tokens; i++) request.Prompt.Add(10 + i);
        return request;
    }

    private static CallOptions WithToken(string authorization, CancellationToken ct) =>
        new(new Metadata { { "authorization", authorization } }, DateTime.UtcNow.AddSeconds(30), ct);

    /// <summary>Every method of the worker protocol answers UNAUTHENTICATED to this caller.</summary>
    private static async Task AssertEveryWorkerMethodRefusedAsync(Worker.WorkerClient client, CancellationToken ct, string? authorization = null)
    {
        CallOptions Options() => authorization is null ? GrpcCalls.Within(TimeSpan.FromSeconds(30), ct) : WithToken(authorization, ct);
        var calls = new (string Name, Func<Task> Call)[]
        {
            ("GetInfo", () => client.GetInfoAsync(new InfoRequest(), Options()).ResponseAsync),
            ("Watch", () => DrainAsync(client.Watch(new WatchRequest { IntervalMs = 50 }, Options()), ct)),
            ("Prefill", () => client.PrefillAsync(new PrefillRequest { Request = PrefillOf(20) }, Options()).ResponseAsync),
            ("PullKv", () => DrainAsync(client.PullKv(new PullKvRequest { LeaseId = "any" }, Options()), ct)),
            ("ReleaseKv", () => client.ReleaseKvAsync(new ReleaseKvRequest { LeaseId = "any" }, Options()).ResponseAsync),
            ("Decode", () => DrainAsync(client.Decode(new DecodeRequest { Request = PrefillOf(20) }, Options()), ct)),
        };
        foreach (var (name, call) in calls)
            Assert.Equal((name, StatusCode.Unauthenticated), (name, (await CodeOfAsync(call)).Code));
    }

    private static async Task<int> DrainAsync<TResponse>(AsyncServerStreamingCall<TResponse> call, CancellationToken ct)
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
