namespace InferServe.Hub;

/// <summary>
/// Turns a hub id into a local path inside the hub cache: a complete cached snapshot is used with no request (as other
/// Hugging Face tools left it, or as a previous pull did); otherwise, or with <c>refresh</c> (`inferserve pull`), the
/// revision is resolved on the hub and the files the server needs are downloaded.
/// </summary>
public sealed class HubModelResolver(HubSettings settings, TextWriter log, HttpMessageHandler? handler = null)
{
    /// <summary>The snapshot directory, or the chosen file inside it.</summary>
    public async Task<string> ResolveAsync(HubRepoId id, bool refresh, CancellationToken ct)
    {
        var cache = new HubCache(settings.CacheDir, id);
        if (!refresh || settings.Offline)
        {
            if (Cached(cache, id) is { } path)
            {
                log.WriteLine($"Model {id}: using the cached {path} (no download; `inferserve pull {id}` updates it).");
                return path;
            }
            if (settings.Offline)
                throw new HubException($"HF_HUB_OFFLINE is set and {id} is not in the cache {settings.CacheDir}: run `inferserve pull {id}` while online, or unset HF_HUB_OFFLINE.");
        }
        using var http = handler is null ? new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30), AutomaticDecompression = System.Net.DecompressionMethods.None })
                                         : new HttpClient(handler, disposeHandler: false);
        http.Timeout = Timeout.InfiniteTimeSpan; // large files; a stalled connection is cut by the server or Ctrl-C
        http.DefaultRequestHeaders.UserAgent.ParseAdd("inferserve/1.0");
        var client = new HubClient(http, settings);
        HubRevision revision;
        try
        {
            revision = await client.GetRevisionAsync(id, ct);
        }
        catch (HttpRequestException e)
        {
            if (Cached(cache, id) is { } path)
            {
                log.WriteLine($"Model {id}: {settings.Endpoint} is unreachable ({e.Message}); using the cached snapshot.");
                return path;
            }
            throw new HubException($"Cannot reach {settings.Endpoint} for {id} ({e.Message}) and the model is not cached: check the network or HF_ENDPOINT.", e);
        }
        var files = revision.Files.Where(f => ModelFiles.Needed(f.Path, id.File)).ToList();
        if (id.File is not null && !files.Any(f => f.Path == id.File))
            throw new HubException($"{id.File} is not in {id.Repo}@{id.Revision}; check the file name at {settings.Endpoint}/{id.Repo}/tree/{id.Revision}.");
        if (id.File is null && !files.Any(f => f.Path == "config.json"))
            throw new HubException($"{id.Repo} has no config.json at its top level, so it is not a Transformers checkpoint InferServe can serve; for a GGUF file use {id.Repo}:FILE.gguf.");
        var downloader = new BlobDownloader(client, http, log);
        var blobs = new List<HubFile>();
        foreach (var listed in files)
        {
            var file = listed.Etag.Length > 0 && listed.Size >= 0 ? listed : await client.HeadAsync(id, revision.Commit, listed.Path, ct);
            await downloader.EnsureAsync(id, revision.Commit, file, cache, ct);
            blobs.Add(file);
        }
        // Linked only once every blob is in place, so a killed pull never leaves a snapshot that looks complete.
        foreach (var file in blobs) cache.Link(revision.Commit, file.Path, file.Etag);
        cache.WriteRef(id.Revision, revision.Commit);
        long total = blobs.Sum(f => Math.Max(0, f.Size));
        var snapshot = cache.Snapshot(revision.Commit);
        log.WriteLine($"Model {id}: {files.Count} files ({total / 1048576.0:F1} MB) at commit {revision.Commit} in {snapshot}");
        return id.File is null ? snapshot : Path.Combine(snapshot, id.File);
    }

    private static string? Cached(HubCache cache, HubRepoId id)
    {
        var commit = cache.ResolveCommit(id.Revision);
        if (commit is null || !ModelFiles.IsComplete(cache.Snapshot(commit), id.File)) return null;
        var snapshot = cache.Snapshot(commit);
        return id.File is null ? snapshot : Path.Combine(snapshot, id.File);
    }
}
