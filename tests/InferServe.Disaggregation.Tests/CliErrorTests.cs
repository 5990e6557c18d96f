using System.Net;
using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

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

    /// <summary>
    /// A device whose provider the loaded ONNX Runtime lists but cannot load: the GPU build (-p:OrtVariant=gpu) lists CUDA,
    /// whose provider needs CUDA 13 and cuDNN 9, which this machine lacks. A machine with them skips (optional hardware).
    /// </summary>
    private static async Task<(string Device, string Cli)> ListedButUnloadableDeviceAsync(CancellationToken ct)
    {
        var cli = GpuBuildOfCli.DllPath();
        var (code, output) = await ServerProcess.RunToEndAsync(["providers"], ct, cli: cli);
        Assert.Equal(0, code);
        Assert.Contains("CUDAExecutionProvider", output);
        bool cudaPresent = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH")?.Split(':').Any(d => File.Exists(Path.Combine(d, "libcudart.so.13"))) == true
            || File.Exists("/usr/local/cuda/lib64/libcudart.so.13");
        Requirements.OptionalUnless(!cudaPresent, "This machine has the CUDA 13 libraries: the CUDA provider may load here.");
        return ("cuda:0", cli);
    }

    private static string ErrorLine(string output)
    {
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("cannot load it", line);
        Assert.Matches(@": lib\S+\.so\S* could not be loaded", line); // the missing library, as the dynamic loader named it
        Assert.Contains("CUDA 13", line);
        Assert.Contains("cuDNN 9", line);
        NoStackTrace(output);
        return line;
    }

    [Fact(Timeout = 180_000)]
    public async Task Generate_on_a_listed_provider_that_cannot_load_exits_with_one_line_naming_the_library()
    {
        var ct = TestContext.Current.CancellationToken;
        var (device, cli) = await ListedButUnloadableDeviceAsync(ct);
        var model = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        var (code, output) = await ServerProcess.RunToEndAsync(
            ["generate", "--model", model, "--device", device, "--prompt", "Hi", "--max-tokens", "2", "--cache-dir", TestPaths.GraphCacheDir], ct, cli: cli);
        Assert.Equal(1, code);
        Assert.Contains($"Device '{device}'", ErrorLine(output));
    }

    [Fact(Timeout = 180_000)]
    public async Task Serve_on_a_listed_provider_that_cannot_load_exits_instead_of_staying_unready()
    {
        var ct = TestContext.Current.CancellationToken;
        var (device, cli) = await ListedButUnloadableDeviceAsync(ct);
        var model = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        await using var server = ServerProcess.Start("serve", ["--model", model, "--device", device, "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1"], cli: cli);
        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromMinutes(2), ct));
        Assert.Contains($"Device '{device}'", ErrorLine(server.Output));
    }
}
