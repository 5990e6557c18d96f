using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using InferServe.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace InferServe.Hub.Tests.Support;

/// <summary>
/// A Hugging Face hub on loopback over local directories: <c>/api/models/{org}/{name}/revision/{rev}</c> (metadata with
/// blob ids, sizes and LFS sha256) and <c>/{org}/{name}/resolve/{rev}/{path}</c> (content with Range, X-Repo-Commit,
/// ETag, X-Linked-Etag, X-Linked-Size). Faults are injected per file; every request is recorded.
/// </summary>
public sealed class LocalHub : IAsyncDisposable
{
    private readonly LoopbackServer _server;
    private readonly Dictionary<string, Repo> _repos = [];

    public string Endpoint { get; }
    public ConcurrentQueue<string> Requests { get; } = new();
    /// <summary>Files whose first GET sends half the bytes and then drops the connection.</summary>
    public ConcurrentDictionary<string, bool> CutOnce { get; } = new();
    /// <summary>Awaited between sending half a cut file and dropping the connection (the client has stored some of it).</summary>
    public Func<Task>? BeforeCut { get; set; }
    /// <summary>Awaited before a file's content is sent (holds a download open while another client arrives).</summary>
    public Func<Task>? BeforeBody { get; set; }
    /// <summary>Files whose listed sha256 is wrong.</summary>
    public HashSet<string> WrongSha { get; } = [];
    /// <summary>Repos that answer 401 without a token (gated).</summary>
    public HashSet<string> Gated { get; } = [];

    public sealed record Entry(string Path, byte[] Content, string BlobId, string? Sha256);
    public sealed record Repo(string Commit, IReadOnlyList<Entry> Files);

    private LocalHub(LoopbackServer server)
    {
        _server = server;
        Endpoint = server.BaseAddress.ToString().TrimEnd('/');
    }

    public static async Task<LocalHub> StartAsync(CancellationToken ct)
    {
        LocalHub? hub = null;
        var server = await LoopbackServer.StartAsync(app => Map(app, () => hub!), ct);
        return hub = new LocalHub(server);
    }

    private static void Map(WebApplication app, Func<LocalHub> hubOf)
    {
        app.MapGet("/api/models/{org}/{name}/revision/{**rev}", (string org, string name, string rev, HttpContext ctx) => hubOf().Metadata(org, name, rev, ctx));
        // The tree and paths-info routes are what the JS client (@huggingface/hub) lists and resolves files with.
        app.MapGet("/api/models/{org}/{name}/tree/{rev}/{**path}", (string org, string name, string rev, HttpContext ctx) => hubOf().Tree(org, name, null, ctx));
        app.MapPost("/api/models/{org}/{name}/paths-info/{rev}", async (string org, string name, string rev, HttpContext ctx) =>
        {
            var body = await System.Text.Json.JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
            var paths = body.RootElement.GetProperty("paths").EnumerateArray().Select(p => p.GetString()!).ToHashSet();
            return hubOf().Tree(org, name, paths, ctx);
        });
        app.MapMethods("/{org}/{name}/resolve/{rev}/{**path}", ["GET", "HEAD"], (string org, string name, string rev, string path, HttpContext ctx) => hubOf().ResolveAsync(org, name, path, ctx));
    }

    /// <summary>Publishes every file of a directory as repo org/name at one commit; large-file types are LFS files.</summary>
    public string Add(string repo, string directory, params (string Path, byte[] Content)[] extra)
    {
        var sources = Directory.EnumerateFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Select(f => (Path: Path.GetFileName(f), Content: File.ReadAllBytes(f))).Concat(extra);
        var files = sources.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f =>
        {
            var bytes = f.Content;
            var name = f.Path;
            bool lfs = name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".gguf", StringComparison.Ordinal);
            return new Entry(name, bytes, GitBlobId(bytes), lfs ? Convert.ToHexStringLower(SHA256.HashData(bytes)) : null);
        }).ToList();
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(repo + string.Concat(files.Select(f => f.BlobId)))));
        _repos[repo] = new Repo(commit, files);
        return commit;
    }

    public Repo this[string repo] => _repos[repo];

    public int RequestCount => Requests.Count;

    private static string GitBlobId(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    private bool Find(string org, string name, HttpContext ctx, out Repo repo, out IResult? error)
    {
        error = null;
        if (!_repos.TryGetValue($"{org}/{name}", out repo!))
        {
            ctx.Response.Headers["X-Error-Code"] = "RepoNotFound";
            error = Results.Json(new JsonObject { ["error"] = "Repository not found" }, statusCode: 404);
            return false;
        }
        if (Gated.Contains($"{org}/{name}") && !ctx.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal))
        {
            error = Results.Json(new JsonObject { ["error"] = "Access to this model is restricted" }, statusCode: 401);
            return false;
        }
        return true;
    }

    private IResult Metadata(string org, string name, string rev, HttpContext ctx)
    {
        Requests.Enqueue($"GET {ctx.Request.Path}{ctx.Request.QueryString}");
        if (!Find(org, name, ctx, out var repo, out var error)) return error!;
        if (rev != "main" && rev != repo.Commit)
        {
            ctx.Response.Headers["X-Error-Code"] = "RevisionNotFound";
            return Results.Json(new JsonObject { ["error"] = $"Invalid rev id: {rev}" }, statusCode: 404);
        }
        var siblings = new JsonArray();
        foreach (var f in repo.Files)
        {
            var s = new JsonObject { ["rfilename"] = f.Path, ["blobId"] = f.BlobId, ["size"] = f.Content.Length };
            if (f.Sha256 is not null)
                s["lfs"] = new JsonObject { ["sha256"] = WrongSha.Contains(f.Path) ? new string('0', 64) : f.Sha256, ["size"] = f.Content.Length, ["pointerSize"] = 134 };
            siblings.Add(s);
        }
        return Results.Json(new JsonObject { ["id"] = $"{org}/{name}", ["modelId"] = $"{org}/{name}", ["sha"] = repo.Commit, ["siblings"] = siblings });
    }

    /// <summary>Tree entries as the hub's tree and paths-info APIs write them (lfs.oid is the sha256).</summary>
    private IResult Tree(string org, string name, HashSet<string>? paths, HttpContext ctx)
    {
        Requests.Enqueue($"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString}");
        if (!Find(org, name, ctx, out var repo, out var error)) return error!;
        var entries = new JsonArray();
        foreach (var f in repo.Files.Where(f => paths is null || paths.Contains(f.Path)))
        {
            // One commit per repo here, so every file's last commit is the repo's commit.
            var e = new JsonObject
            {
                ["type"] = "file", ["path"] = f.Path, ["oid"] = f.BlobId, ["size"] = f.Content.Length,
                ["lastCommit"] = new JsonObject { ["id"] = repo.Commit, ["title"] = "upload", ["date"] = "2026-01-01T00:00:00.000Z" },
            };
            if (f.Sha256 is not null) e["lfs"] = new JsonObject { ["oid"] = f.Sha256, ["size"] = f.Content.Length, ["pointerSize"] = 134 };
            entries.Add(e);
        }
        return Results.Json(entries);
    }

    private async Task ResolveAsync(string org, string name, string path, HttpContext ctx)
    {
        Requests.Enqueue($"{ctx.Request.Method} {ctx.Request.Path} {ctx.Request.Headers.Range}".TrimEnd());
        if (!Find(org, name, ctx, out var repo, out var error))
        {
            await error!.ExecuteAsync(ctx);
            return;
        }
        var file = repo.Files.FirstOrDefault(f => f.Path == path);
        if (file is null)
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.Headers["X-Error-Code"] = "EntryNotFound";
            return;
        }
        var h = ctx.Response.Headers;
        h["X-Repo-Commit"] = repo.Commit;
        h.ETag = $"\"{file.Sha256 ?? file.BlobId}\"";
        if (file.Sha256 is not null)
        {
            h["X-Linked-Etag"] = $"\"{(WrongSha.Contains(path) ? new string('0', 64) : file.Sha256)}\"";
            h["X-Linked-Size"] = file.Content.Length.ToString();
        }
        h.AcceptRanges = "bytes";
        long start = 0, end = file.Content.Length - 1;
        if (ctx.Request.Headers.Range.ToString() is { Length: > 0 } range && range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            var bounds = range[6..].Split('-');
            start = long.Parse(bounds[0]);
            if (bounds[1].Length > 0) end = Math.Min(end, long.Parse(bounds[1]));
            if (start >= file.Content.Length)
            {
                ctx.Response.StatusCode = (int)HttpStatusCode.RequestedRangeNotSatisfiable;
                return;
            }
            ctx.Response.StatusCode = 206;
            h.ContentRange = $"bytes {start}-{end}/{file.Content.Length}";
        }
        ctx.Response.ContentLength = end + 1 - start;
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        if (BeforeBody is not null) await BeforeBody();
        if (CutOnce.TryRemove(path, out _))
        {
            int half = file.Content.Length / 2;
            await ctx.Response.Body.WriteAsync(file.Content.AsMemory((int)start, half - (int)start));
            await ctx.Response.Body.FlushAsync();
            if (BeforeCut is not null) await BeforeCut();
            ctx.Abort(); // the connection drops mid-file
            return;
        }
        await ctx.Response.Body.WriteAsync(file.Content.AsMemory((int)start, (int)(end + 1 - start)));
    }

    public ValueTask DisposeAsync() => _server.App.DisposeAsync();
}
