using System.Net;
using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.Tests.Shared;
using InferServe.ModelGen;
using InferServe.Tests.Support;

namespace InferServe.Disaggregation.Tests;

/// <summary>Misconfigured deployments fail with one clear line or a 503, never a stack trace.</summary>
public sealed class CliErrorTests
{
    private static void NoStackTrace(string output) => Assert.DoesNotMatch(@"\n\s+at [A-Z]\w*\.", output);

    [Theory(Timeout = 120_000)]
    [InlineData(new[] { "serve", "--role", "router" }, "Unknown --role 'router'")]
    [InlineData(new[] { "serve", "--role", "all", "--gateway", "http://127.0.0.1:1" }, "--gateway is for workers")]
    [InlineData(new[] { "serve", "--role", "decode", "--prefill", "http://127.0.0.1:1" }, "--prefill and --decode are for --role gateway")]
    [InlineData(new[] { "serve", "--role", "gateway", "--decode", "http://127.0.0.1:1", "--routing", "random" }, "Unknown routing policy 'random'")]
    [InlineData(new[] { "serve", "--tool-call-parser", "gpt" }, "Unknown --tool-call-parser 'gpt'")]
    public async Task Bad_role_flags_exit_with_one_line(string[] args, string message)
    {
        var (code, output) = await ServerProcess.RunToEndAsync(args, TestContext.Current.CancellationToken);
        Assert.Equal(2, code);
        Assert.Contains(message, output);
        Assert.Single(output.Trim().Split('\n'));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_gateway_whose_workers_are_unreachable_is_not_ready_and_answers_503()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        await using var gateway = ServerProcess.Start("gateway", ["--role", "gateway", "--model", model, "--served-model-name", Topology.ServedName,
            "--prefill", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--decode", $"http://127.0.0.1:{ServerProcess.FreePort()}"]);
        await gateway.WaitReadyAsync(ct, HttpStatusCode.ServiceUnavailable);
        var ready = await OpenAiCalls.Http.GetStringAsync(gateway.HttpBase + "/ready", ct).ContinueWith(t => t.Exception?.Message ?? t.Result);
        var answer = await OpenAiCalls.RunAsync(gateway.HttpBase, "/v1/completions", new JsonObject { ["prompt"] = "Hi", ["max_tokens"] = 4 }, ct);
        Assert.StartsWith("HTTP 503", answer);
        Assert.Contains("no healthy decode worker", answer);
        Assert.Contains("\"error\"", answer);
        NoStackTrace(gateway.Output);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_worker_with_a_different_model_is_refused_with_one_log_line()
    {
        var ct = TestContext.Current.CancellationToken;
        var tiny = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        var other = TestModelGenerator.Ensure(ModelSpec.TinyUntied, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny-untied"));
        string[] common = ["--served-model-name", Topology.ServedName, "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1", "--no-ort-spinning", "--kv-cache-memory", "16MiB"];
        await using var prefill = ServerProcess.Start("prefill", ["--role", "prefill", "--model", tiny, .. common]);
        await prefill.WaitReadyAsync(ct);
        await using var decode = ServerProcess.Start("decode", ["--role", "decode", "--model", other, .. common]);
        await decode.WaitReadyAsync(ct);
        // Only the prefill worker is listed first and answers first: it sets the reference the decode worker fails.
        await using var gateway = ServerProcess.Start("gateway", ["--role", "gateway", "--model", tiny, "--served-model-name", Topology.ServedName,
            "--prefill", prefill.GrpcAddress, "--decode", decode.GrpcAddress]);
        await gateway.WaitReadyAsync(ct, HttpStatusCode.ServiceUnavailable);
        await gateway.WaitForMetricAsync("the refusal", g => Task.FromResult(g.Output.Contains("Refusing")), TimeSpan.FromSeconds(30), ct);
        var answer = await OpenAiCalls.RunAsync(gateway.HttpBase, "/v1/completions", new JsonObject { ["prompt"] = "Hi", ["max_tokens"] = 4 }, ct);
        Assert.StartsWith("HTTP 503", answer);
        var refusal = Assert.Single(gateway.Output.Split('\n'), l => l.Contains("Refusing"));
        Assert.Contains("different model", refusal);
        NoStackTrace(gateway.Output);
    }
}
