using System.Net;
using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>Workers started with --gateway announce themselves; the gateway needs no worker list.</summary>
public sealed class RegistrationTests
{
    [Fact(Timeout = 180_000)]
    public async Task Workers_register_with_a_gateway_that_lists_none_and_a_worker_with_another_model_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        var tiny = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        var other = TestModelGenerator.Ensure(ModelSpec.TinyUntied, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny-untied"));
        string[] common = ["--served-model-name", Topology.ServedName, "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1", "--no-ort-spinning", "--kv-cache-memory", "16MiB"];

        await using var gateway = ServerProcess.Start("gateway", ["--role", "gateway", "--model", tiny, "--served-model-name", Topology.ServedName, "--remote-prefill-min-tokens", "0"]);
        await gateway.WaitReadyAsync(ct, HttpStatusCode.ServiceUnavailable);
        await using var prefill = ServerProcess.Start("prefill", ["--role", "prefill", "--model", tiny, "--gateway", gateway.GrpcAddress, .. common]);
        await using var decode = ServerProcess.Start("decode", ["--role", "decode", "--model", tiny, "--gateway", gateway.GrpcAddress, .. common]);
        await gateway.WaitReadyAsync(ct);
        await gateway.WaitForMetricAsync("both workers healthy", async g => await g.MetricAsync("inferserve_worker_healthy", ct: ct) == 2, TimeSpan.FromSeconds(60), ct);

        var answer = await OpenAiCalls.RunAsync(gateway.HttpBase, "/v1/completions",
            new JsonObject { ["model"] = Topology.ServedName, ["prompt"] = "Once upon a time", ["max_tokens"] = 8, ["temperature"] = 0 }, ct);
        Assert.Contains("\"finish\"", answer);
        Assert.Equal(1, await gateway.MetricAsync("inferserve_router_decisions_total", "reason=\"after_prefill\"", ct));

        await using var stranger = ServerProcess.Start("stranger", ["--role", "decode", "--model", other, "--gateway", gateway.GrpcAddress, .. common]);
        await stranger.WaitForMetricAsync("the refusal", s => Task.FromResult(s.Output.Contains("the gateway refused this worker")), TimeSpan.FromSeconds(60), ct);
        Assert.Contains("different model", stranger.Output);
        Assert.Equal(2, await gateway.MetricAsync("inferserve_worker_healthy", ct: ct));
        await gateway.WaitReadyAsync(ct);
    }
}
