using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using InferServe.Hub.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Hub.Tests;

/// <summary>The cache is shared both ways with the official JS hub client, @huggingface/hub 2.17.5 (scripts/ci/setup-hf-hub-reference.sh).</summary>
public sealed class HubClientCompatibilityTests
{
    private const string Repo = "test/tiny-llama";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    private static string NodeModules()
    {
        var dir = Path.Combine(TestPaths.RepoRoot, ".deps", "node-hf-hub", "node_modules");
        if (File.Exists(Path.Combine(dir, "@huggingface", "hub", "package.json"))) return dir;
        var reason = $"@huggingface/hub is not installed in {dir}; run scripts/ci/setup-hf-hub-reference.sh.";
        Requirements.Missing(reason);
        return dir;
    }

    private static async Task<string[]> NodeAsync(string nodeModules, CancellationToken ct, params string[] args)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Support", "hf-hub-client.js"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["NODE_PATH"] = nodeModules;
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromMinutes(2), ct);
        Assert.True(p.ExitCode == 0, $"node {string.Join(' ', args)} failed:\n{await stderr}");
        return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_snapshot_downloaded_by_the_JS_client_is_served_offline()
    {
        var ct = TestContext.Current.CancellationToken;
        var nodeModules = NodeModules();
        await using var hub = await LocalHub.StartAsync(ct);
        var commit = hub.Add(Repo, TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny")));
        var cache = Directory.CreateTempSubdirectory("inferserve-hf-js-").FullName;

        var snapshot = (await NodeAsync(nodeModules, ct, "snapshot", hub.Endpoint, cache, Repo, "main")).Last();
        Assert.Equal(Path.Combine(cache, "models--test--tiny-llama", "snapshots", commit), snapshot);

        int requests = hub.RequestCount;
        var resolved = await new HubModelResolver(new HubSettings { Endpoint = hub.Endpoint, CacheDir = cache, Offline = true }, TextWriter.Null)
            .ResolveAsync(HubRepoId.Parse(Repo), refresh: false, ct);
        Assert.Equal(snapshot, resolved);

        await using var server = ServerProcess.Start("serve", ["--model", Repo, "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1"],
            new Dictionary<string, string> { ["HF_ENDPOINT"] = hub.Endpoint, ["HF_HUB_CACHE"] = cache, ["HF_HUB_OFFLINE"] = "1" });
        int port = server.HttpPort;
        await server.WaitReadyAsync(ct);
        var body = new JsonObject { ["prompt"] = "Hello", ["max_tokens"] = 4, ["temperature"] = 0 };
        using var r = await Http.PostAsync($"http://127.0.0.1:{port}/v1/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), ct);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync(ct));
        Assert.Equal(requests, hub.RequestCount);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_JS_client_finds_the_files_InferServe_downloaded()
    {
        var ct = TestContext.Current.CancellationToken;
        var nodeModules = NodeModules();
        await using var hub = await LocalHub.StartAsync(ct);
        var commit = hub.Add(Repo, TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny")));
        var cache = Directory.CreateTempSubdirectory("inferserve-hf-js-").FullName;
        var snapshot = await new HubModelResolver(new HubSettings { Endpoint = hub.Endpoint, CacheDir = cache }, TextWriter.Null)
            .ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct);
        var files = hub[Repo].Files.Select(f => f.Path).ToArray();
        int requests = hub.RequestCount;

        // By commit the client answers from the cache alone; by branch it asks for metadata but downloads nothing.
        var byCommit = await NodeAsync(nodeModules, ct, ["files", hub.Endpoint, cache, Repo, commit, .. files]);
        Assert.Equal(files.Select(f => Path.Combine(snapshot, f)), byCommit);
        Assert.Equal(requests, hub.RequestCount);
        var byBranch = await NodeAsync(nodeModules, ct, ["files", hub.Endpoint, cache, Repo, "main", .. files]);
        Assert.Equal(files.Select(f => Path.Combine(snapshot, f)), byBranch);
        Assert.DoesNotContain(hub.Requests.Skip(requests), r => r.Contains("/resolve/"));
    }
}
