namespace InferServe.Hub;

/// <summary>
/// One repo's folder in the hub cache, laid out as huggingface_hub lays it out, so either tool uses the other's files:
/// <c>models--org--name/blobs/&lt;etag&gt;</c> (content, named by sha256 for LFS files and by git blob id otherwise),
/// <c>snapshots/&lt;commit&gt;/&lt;path&gt;</c> (relative symlinks into blobs), <c>refs/&lt;revision&gt;</c> (the commit),
/// and <c>../.locks/models--org--name/&lt;etag&gt;.lock</c>.
/// </summary>
public sealed class HubCache(string cacheDir, HubRepoId id)
{
    public string RepoDir { get; } = Path.Combine(cacheDir, id.CacheFolder);
    public string BlobsDir => Path.Combine(RepoDir, "blobs");
    public string LocksDir { get; } = Path.Combine(cacheDir, ".locks", id.CacheFolder);

    public string Blob(string etag) => Path.Combine(BlobsDir, etag);
    public string Incomplete(string etag) => Blob(etag) + ".incomplete";
    public string Lock(string etag) => Path.Combine(LocksDir, etag + ".lock");
    public string Snapshot(string commit) => Path.Combine(RepoDir, "snapshots", commit);
    private string RefFile(string revision) => Path.Combine(RepoDir, "refs", revision);

    /// <summary>The commit a revision points to in the cache, or null.</summary>
    public string? ResolveCommit(string revision)
    {
        if (revision.Length == 40 && revision.All(Uri.IsHexDigit) && Directory.Exists(Snapshot(revision))) return revision;
        var file = RefFile(revision);
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    }

    public void WriteRef(string revision, string commit)
    {
        if (revision == commit) return;
        var file = RefFile(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (File.Exists(file) && File.ReadAllText(file).Trim() == commit) return;
        var tmp = file + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(tmp, commit);
        File.Move(tmp, file, overwrite: true);
    }

    /// <summary>Points snapshots/commit/path at the blob with a relative symlink (a copy where links are not allowed).</summary>
    public void Link(string commit, string path, string etag)
    {
        var target = Path.Combine(Snapshot(commit), path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var relative = Path.GetRelativePath(Path.GetDirectoryName(target)!, Blob(etag));
        var info = new FileInfo(target);
        if (info.LinkTarget == relative) return;
        if (info.Exists || info.LinkTarget is not null) File.Delete(target);
        try
        {
            File.CreateSymbolicLink(target, relative);
        }
        catch (IOException) when (File.Exists(target))
        {
            // Another process linked it first.
        }
        catch (UnauthorizedAccessException)
        {
            File.Copy(Blob(etag), target, overwrite: true);
        }
    }

    /// <summary>The snapshot holds a file that resolves to existing content (a dangling link does not count).</summary>
    public bool HasFile(string commit, string path) => File.Exists(Path.Combine(Snapshot(commit), path));
}
