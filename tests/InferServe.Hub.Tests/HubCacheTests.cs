using System.Security.Cryptography;
using InferServe.Hub.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Hub.Tests;

/// <summary>Downloads from a loopback hub into the Hugging Face cache layout: resume, checksums, locks, offline use, errors.</summary>
public sealed class HubCacheTests
{
    private const string Repo = "test/tiny-llama";

    private static string TinyModel() => TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));

    private static string NewCache() => Directory.CreateTempSubdirectory("inferserve-hf-cache-").FullName;

    private static HubModelResolver Resolver(LocalHub hub, string cache, bool offline = false, TextWriter? log = null) =>
        new(new HubSettings { Endpoint = hub.Endpoint, CacheDir = cache, Offline = offline }, log ?? TextWriter.Synchronized(new StringWriter()));

    private static string Blob(string cache, LocalHub.Entry f) => Path.Combine(cache, "models--test--tiny-llama", "blobs", f.Sha256 ?? f.BlobId);

    private static string Weights(LocalHub hub) => $"/{Repo}/resolve/{hub[Repo].Commit}/model.safetensors";

    [Fact(Timeout = 120_000)]
    public async Task Pull_writes_the_hub_cache_layout_with_only_the_needed_files()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        var commit = hub.Add(Repo, TinyModel(), ("README.md", "# card"u8.ToArray()), ("pytorch_model.bin", new byte[64]));
        var cache = NewCache();

        var path = await Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct);

        var repoDir = Path.Combine(cache, "models--test--tiny-llama");
        Assert.Equal(Path.Combine(repoDir, "snapshots", commit), path);
        Assert.Equal(commit, File.ReadAllText(Path.Combine(repoDir, "refs", "main")));
        foreach (var f in hub[Repo].Files.Where(f => f.Path is not ("README.md" or "pytorch_model.bin")))
        {
            var link = new FileInfo(Path.Combine(path, f.Path));
            Assert.Equal($"../../blobs/{f.Sha256 ?? f.BlobId}", link.LinkTarget);
            Assert.Equal(f.Content, File.ReadAllBytes(link.FullName));
        }
        Assert.NotNull(hub[Repo].Files.Single(f => f.Path == "model.safetensors").Sha256); // blobs of LFS files are named by sha256
        Assert.False(File.Exists(Path.Combine(path, "README.md")));
        Assert.False(File.Exists(Path.Combine(path, "pytorch_model.bin")));
        Assert.DoesNotContain(hub.Requests, r => r.Contains("README.md") || r.Contains("pytorch_model.bin"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(repoDir, "blobs"), "*.incomplete"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_connection_cut_mid_file_resumes_with_a_range_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add(Repo, TinyModel());
        hub.CutOnce["model.safetensors"] = true;
        var cache = NewCache();
        var weights = hub[Repo].Files.Single(f => f.Path == "model.safetensors");
        var part = Blob(cache, weights) + ".incomplete";
        // Bytes still in flight when the connection drops are lost, so the cut waits until some reached the file.
        hub.BeforeCut = async () =>
        {
            while (!File.Exists(part) || new FileInfo(part).Length == 0) await Task.Delay(10, ct);
        };
        var log = new StringWriter();

        await Resolver(hub, cache, log: TextWriter.Synchronized(log)).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct);

        var gets = hub.Requests.Where(r => r.StartsWith("GET " + Weights(hub), StringComparison.Ordinal)).ToList();
        Assert.Equal(2, gets.Count);
        Assert.Matches(@" bytes=\d+-$", gets[1]);
        var resumedAt = long.Parse(System.Text.RegularExpressions.Regex.Match(gets[1], @" bytes=(\d+)-$").Groups[1].Value);
        Assert.InRange(resumedAt, 1, weights.Content.Length / 2);
        Assert.Equal(weights.Content, File.ReadAllBytes(Blob(cache, weights)));
        Assert.Contains("resuming from byte", log.ToString());
    }

    [Fact(Timeout = 120_000)]
    public async Task A_download_killed_earlier_resumes_from_its_incomplete_file()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add(Repo, TinyModel());
        var cache = NewCache();
        var weights = hub[Repo].Files.Single(f => f.Path == "model.safetensors");
        // What kill -9 leaves: a partial .incomplete blob and no snapshot.
        Directory.CreateDirectory(Path.GetDirectoryName(Blob(cache, weights))!);
        int third = weights.Content.Length / 3;
        File.WriteAllBytes(Blob(cache, weights) + ".incomplete", weights.Content[..third]);
        // A partial blob is never used: offline, the model is simply not cached.
        await Assert.ThrowsAsync<HubException>(() => Resolver(hub, cache, offline: true).ResolveAsync(HubRepoId.Parse(Repo), refresh: false, ct));

        await Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(Repo), refresh: false, ct);

        Assert.Contains($"GET {Weights(hub)} bytes={third}-", hub.Requests);
        Assert.Equal(weights.Content, File.ReadAllBytes(Blob(cache, weights)));
        Assert.False(File.Exists(Blob(cache, weights) + ".incomplete"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_wrong_checksum_is_rejected_and_nothing_is_left_in_use()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add(Repo, TinyModel());
        hub.WrongSha.Add("model.safetensors");
        var cache = NewCache();

        var e = await Assert.ThrowsAsync<HubException>(() => Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct));

        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("corrupt", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var repoDir = Path.Combine(cache, "models--test--tiny-llama");
        var weights = hub[Repo].Files.Single(x => x.Path == "model.safetensors");
        Assert.False(File.Exists(Blob(cache, weights)));
        Assert.False(File.Exists(Blob(cache, weights) + ".incomplete"));
        Assert.False(Directory.Exists(Path.Combine(repoDir, "snapshots")));
        Assert.False(File.Exists(Path.Combine(repoDir, "refs", "main")));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_full_disk_is_one_line_that_says_what_to_do()
    {
        var ct = TestContext.Current.CancellationToken;
        Requirements.OptionalUnless(File.Exists("/dev/full"), "Needs /dev/full (Linux), whose writes fail with ENOSPC.");
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add(Repo, TinyModel());
        var cache = NewCache();
        var weights = hub[Repo].Files.Single(f => f.Path == "model.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(Blob(cache, weights))!);
        File.CreateSymbolicLink(Blob(cache, weights) + ".incomplete", "/dev/full");

        var e = await Assert.ThrowsAsync<HubException>(() => Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct));

        Assert.Contains("disk is full", e.Message);
        Assert.Contains("HF_HUB_CACHE", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Blob(cache, weights)));
    }

    [Fact(Timeout = 120_000)]
    public async Task Offline_uses_the_cache_with_no_request_and_says_what_to_do_when_it_is_empty()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add(Repo, TinyModel());
        var cache = NewCache();
        var offline = await Assert.ThrowsAsync<HubException>(() => Resolver(hub, cache, offline: true).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct));
        Assert.Contains("HF_HUB_OFFLINE", offline.Message);
        Assert.Contains($"inferserve pull {Repo}", offline.Message);
        Assert.Empty(hub.Requests);

        var pulled = await Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct);
        int before = hub.RequestCount;
        Assert.Equal(pulled, await Resolver(hub, cache, offline: true).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct));
        Assert.Equal(pulled, await Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(Repo), refresh: false, ct));
        Assert.Equal(before, hub.RequestCount);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_cache_written_by_other_hugging_face_tools_is_used_with_no_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        var cache = NewCache();
        // The huggingface_hub layout, written by hand: blobs by sha256 / git blob id, relative links, a ref.
        const string commit = "0123456789abcdef0123456789abcdef01234567";
        var repoDir = Path.Combine(cache, "models--someone--tiny");
        var snapshot = Path.Combine(repoDir, "snapshots", commit);
        Directory.CreateDirectory(Path.Combine(repoDir, "blobs"));
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
        File.WriteAllText(Path.Combine(repoDir, "refs", "v1.0"), commit);
        foreach (var file in Directory.EnumerateFiles(TinyModel()).Where(f => !Path.GetFileName(f).StartsWith('.')))
        {
            var bytes = File.ReadAllBytes(file);
            var etag = Convert.ToHexStringLower(SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(repoDir, "blobs", etag), bytes);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), "../../blobs/" + etag);
        }

        Assert.Equal(snapshot, await Resolver(hub, cache).ResolveAsync(HubRepoId.Parse("someone/tiny@v1.0"), refresh: false, ct));
        Assert.Equal(snapshot, await Resolver(hub, cache).ResolveAsync(HubRepoId.Parse($"someone/tiny@{commit}"), refresh: false, ct));
        Assert.Empty(hub.Requests);
    }

    [Fact(Timeout = 120_000)]
    public async Task Concurrent_pulls_download_each_blob_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add(Repo, TinyModel());
        var cache = NewCache();

        var paths = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(Repo), refresh: true, ct), ct)));

        Assert.Single(paths.Distinct());
        Assert.Single(hub.Requests, r => r.StartsWith("GET " + Weights(hub), StringComparison.Ordinal));
        Assert.True(ModelFiles.IsComplete(paths[0], null));
    }

    [Fact(Timeout = 120_000)]
    public async Task Hub_errors_are_one_line_that_says_what_to_do()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var hub = await LocalHub.StartAsync(ct);
        hub.Add(Repo, TinyModel());
        hub.Add("gated/model", TinyModel());
        hub.Gated.Add("gated/model");
        var cache = NewCache();
        async Task<string> Error(string id) =>
            (await Assert.ThrowsAsync<HubException>(() => Resolver(hub, cache).ResolveAsync(HubRepoId.Parse(id), refresh: true, ct))).Message;

        var missing = await Error("nobody/nothing");
        Assert.Contains("nobody/nothing was not found", missing);
        Assert.Contains("HF_TOKEN", missing);
        Assert.Contains("Revision 'no-such-branch'", await Error(Repo + "@no-such-branch"));
        var gated = await Error("gated/model");
        Assert.Contains("gated", gated);
        Assert.Contains("HF_TOKEN", gated);
        Assert.Contains("not in test/tiny-llama", await Error(Repo + ":missing.gguf"));
        var unreachable = await Assert.ThrowsAsync<HubException>(() =>
            new HubModelResolver(new HubSettings { Endpoint = "http://127.0.0.1:1", CacheDir = cache }, TextWriter.Null).ResolveAsync(HubRepoId.Parse(Repo), true, ct));
        Assert.Contains("Cannot reach", unreachable.Message);
        Assert.DoesNotContain(new[] { missing, gated, unreachable.Message }, m => m.Contains('\n'));
    }

    [Theory]
    [InlineData("org/name", "org", "name", "main", null)]
    [InlineData("org/name@v1.0", "org", "name", "v1.0", null)]
    [InlineData("TheBloke/Llama-2-7B-GGUF:llama-2-7b.Q4_0.gguf", "TheBloke", "Llama-2-7B-GGUF", "main", "llama-2-7b.Q4_0.gguf")]
    [InlineData("a/b@refs/pr/1:x.gguf", "a", "b", "refs/pr/1", "x.gguf")]
    public void Repo_ids_parse(string text, string org, string name, string revision, string? file)
    {
        Assert.True(HubRepoId.TryParse(text, out var id));
        Assert.Equal(new HubRepoId(org, name, revision, file), id);
    }

    [Theory]
    [InlineData("./models/x")]
    [InlineData("/abs/path")]
    [InlineData("model.bin")]
    [InlineData("a/b/c")]
    [InlineData("https://huggingface.co/a/b")]
    [InlineData("../x/y")]
    public void Paths_are_not_repo_ids(string text) => Assert.False(HubRepoId.TryParse(text, out _));

    [Fact]
    public void Settings_follow_the_hub_client_environment()
    {
        var env = new Dictionary<string, string> { ["HF_HOME"] = "/data/hf", ["HF_ENDPOINT"] = "http://mirror:8080/", ["HF_TOKEN"] = "hf_x", ["HF_HUB_OFFLINE"] = "1" };
        var s = HubSettings.FromEnvironment(n => env.GetValueOrDefault(n));
        Assert.Equal(("http://mirror:8080", "hf_x", "/data/hf/hub", true), (s.Endpoint, s.Token, s.CacheDir, s.Offline));
        env["HF_HUB_CACHE"] = "/fast/cache";
        Assert.Equal("/fast/cache", HubSettings.FromEnvironment(n => env.GetValueOrDefault(n)).CacheDir);
        var none = HubSettings.FromEnvironment(n => n == "HOME" ? null : null);
        Assert.Equal((HubSettings.DefaultEndpoint, false), (none.Endpoint, none.Offline));
        Assert.EndsWith(Path.Combine(".cache", "huggingface", "hub"), none.CacheDir);
    }
}
