using System.Text;
using System.Text.Json.Nodes;
using InferServe.Hub.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Hub.Tests;

/// <summary>`inferserve pull` and `serve --model org/name` as real processes against the loopback hub.</summary>
public sealed class HubCliTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    private static Dictionary<string, string> Env(LocalHub hub, string cache, bool offline = false) => new()
    {
        ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HUB_CACHE"] = cache, ["HF_HUB_OFFLINE"] = offline ? "1" : "0", ["HF_TOKEN"] = "",
    };

    private static async Task<string> CompleteAsync(string baseUrl, string model, CancellationToken ct)
    {
        var body = new JsonObject { ["model"] = model, ["prompt"] = "Once upon a time", ["max_tokens"] = 16, ["temperature"] = 0 };
        using var r = await Http.PostAsync(baseUrl + "/v1/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), ct);
        var text = await r.Content.ReadAsStringAsync(ct);
        Assert.True(r.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["choices"]![0]!["text"]!.GetValue<string>();
    }

    [Fact(Timeout = 300_000)]
    public async Task Pull_then_serve_offline_from_the_cache_with_no_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        var tiny = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        var commit = hub.Add("test/tiny-llama", tiny);
        var cache = Directory.CreateTempSubdirectory("inferserve-hf-cli-").FullName;

        var (code, output) = await ServerProcess.RunToEndAsync(["pull", "test/tiny-llama"], ct, Env(hub, cache));
        Assert.True(code == 0, output);
        Assert.Contains(Path.Combine(cache, "models--test--tiny-llama", "snapshots", commit), output);
        Assert.Contains("downloaded test/tiny-llama model.safetensors", output); // progress lines in a log

        int requests = hub.RequestCount;
        await using var server = ServerProcess.Start("serve", ["--model", "test/tiny-llama", "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1"],
            Env(hub, cache, offline: true));
        var baseUrl = server.HttpBase;
        await server.WaitReadyAsync(ct);
        var models = JsonNode.Parse(await Http.GetStringAsync(baseUrl + "/v1/models", ct))!;
        Assert.Equal("test/tiny-llama", models["data"]![0]!["id"]!.GetValue<string>());
        Assert.NotEmpty(await CompleteAsync(baseUrl, "test/tiny-llama", ct));
        Assert.Equal(requests, hub.RequestCount);
    }

    [Fact(Timeout = 300_000)]
    public async Task Serve_downloads_stories260K_from_the_hub_and_writes_its_story()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add("karpathy/stories260K", Path.Combine(TestPaths.RepoRoot, "models", "stories260K"));
        var cache = Directory.CreateTempSubdirectory("inferserve-hf-cli-").FullName;
        await using var server = ServerProcess.Start("serve", ["--model", "karpathy/stories260K:stories260K.bin", "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1"],
            Env(hub, cache));
        var baseUrl = server.HttpBase;
        await server.WaitReadyAsync(ct);
        Assert.StartsWith(", there was a little girl named Lily.", await CompleteAsync(baseUrl, "karpathy/stories260K", ct));
        Assert.Contains(hub.Requests, r => r.Contains("/tok512.bin"));
        Assert.DoesNotContain(hub.Requests, r => r.Contains("SOURCE.md"));
    }

    [Fact(Timeout = 300_000)]
    public async Task Stories260K_in_hf_layout_is_pulled_then_generates_the_bin_greedy_text()
    {
        var ct = TestContext.Current.CancellationToken;
        var bin = Path.Combine(TestPaths.RepoRoot, "models", "stories260K", "stories260K.bin");
        var converted = Path.Combine(Directory.CreateTempSubdirectory("inferserve-hf-convert-").FullName, "stories260K");
        var (code, output) = await ServerProcess.RunToEndAsync(["convert", "--model", bin, "--output", converted], ct);
        Assert.True(code == 0, output);
        await using var hub = await LocalHub.StartAsync(ct);
        var commit = hub.Add("org/stories260K", converted);
        Assert.Equal(Llama2cToHuggingFace.Files, hub["org/stories260K"].Files.Select(f => f.Path)); // HF layout, no .bin
        var cache = Directory.CreateTempSubdirectory("inferserve-hf-cli-").FullName;

        (code, output) = await ServerProcess.RunToEndAsync(["pull", "org/stories260K"], ct, Env(hub, cache));
        Assert.True(code == 0, output);
        Assert.Contains(Path.Combine(cache, "models--org--stories260K", "snapshots", commit), output);

        int requests = hub.RequestCount;
        string[] greedy = ["--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "400", "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1"];
        var fromHub = await GenerateAsync(["generate", "--model", "org/stories260K", .. greedy], Env(hub, cache, offline: true), ct);
        var fromBin = await GenerateAsync(["generate", "--model", bin, .. greedy], null, ct);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily.", fromHub);
        Assert.Equal(fromBin, fromHub);
        Assert.Equal(requests, hub.RequestCount); // served from the cache that pull filled
    }

    /// <summary>The text `generate` printed: the prompt and its completion (logs go before it, to stderr).</summary>
    private static async Task<string> GenerateAsync(string[] args, Dictionary<string, string>? env, CancellationToken ct)
    {
        var (code, output) = await ServerProcess.RunToEndAsync(args, ct, env);
        Assert.True(code == 0, output);
        int start = output.IndexOf("Once upon a time", StringComparison.Ordinal);
        Assert.True(start >= 0, output);
        return output[start..].TrimEnd();
    }

    [Fact(Timeout = 300_000)]
    public async Task Concurrent_pull_processes_download_each_blob_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add("test/tiny-llama", TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny")));
        var cache = Directory.CreateTempSubdirectory("inferserve-hf-cli-").FullName;
        // No content is sent until both processes have asked for the revision, so their downloads overlap.
        hub.BeforeBody = async () =>
        {
            while (hub.Requests.Count(r => r.Contains("/api/models/")) < 2) await Task.Delay(10, ct);
        };

        var results = await Task.WhenAll(ServerProcess.RunToEndAsync(["pull", "test/tiny-llama"], ct, Env(hub, cache)), ServerProcess.RunToEndAsync(["pull", "test/tiny-llama"], ct, Env(hub, cache)));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Output));
        foreach (var f in hub["test/tiny-llama"].Files)
            Assert.Single(hub.Requests, r => r.StartsWith("GET /test/tiny-llama/resolve/", StringComparison.Ordinal) && r.Contains("/" + f.Path));
    }

    [Fact(Timeout = 120_000)]
    public async Task Cli_hub_errors_are_one_line()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        var cache = Directory.CreateTempSubdirectory("inferserve-hf-cli-").FullName;
        var (code, output) = await ServerProcess.RunToEndAsync(["serve", "--model", "nobody/nothing"], ct, Env(hub, cache, offline: true));
        Assert.Equal(1, code);
        var error = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:"));
        Assert.Contains("HF_HUB_OFFLINE", error);
        Assert.DoesNotMatch(@"\n\s+at [A-Z]\w*\.", output);
        (code, output) = await ServerProcess.RunToEndAsync(["pull", "nobody/nothing"], ct, Env(hub, cache));
        Assert.Equal(1, code);
        Assert.Contains("error: Model nobody/nothing was not found", output);
        Assert.DoesNotMatch(@"\n\s+at [A-Z]\w*\.", output);
    }
}
