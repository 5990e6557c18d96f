using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace InferServe.Hub;

/// <summary>
/// Downloads one blob into the cache: under its lock file, into <c>&lt;etag&gt;.incomplete</c> (resumed with HTTP Range
/// after a cut connection or a killed process), checked for size and hash, then renamed into place. A blob is only ever
/// visible complete and verified.
/// </summary>
public sealed class BlobDownloader(HubClient client, HttpClient http, TextWriter log)
{
    private const int Attempts = 4;

    public async Task EnsureAsync(HubRepoId id, string commit, HubFile file, HubCache cache, CancellationToken ct)
    {
        var blob = cache.Blob(file.Etag);
        if (IsComplete(blob, file)) return;
        Directory.CreateDirectory(cache.BlobsDir);
        Directory.CreateDirectory(cache.LocksDir);
        await using (await FileLock.AcquireAsync(cache.Lock(file.Etag), () => log.WriteLine($"Waiting for another process downloading {file.Path} of {id.Repo} ..."), ct))
        {
            if (IsComplete(blob, file)) return; // the other process finished it
            var part = cache.Incomplete(file.Etag);
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await FetchAsync(id, commit, file, part, ct);
                    break;
                }
                catch (IOException e) when (IsDiskFull(e))
                {
                    throw new HubException($"The disk is full writing {file.Path} of {id.Repo} to {cache.BlobsDir}: free space or set HF_HUB_CACHE to another disk; the download resumes where it stopped.", e);
                }
                catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
                {
                    if (attempt == Attempts)
                        throw new HubException($"Downloading {file.Path} of {id.Repo} from {client.Endpoint} failed {Attempts} times ({e.Message}); check the network and run the command again: it resumes where it stopped.", e);
                    log.WriteLine($"{file.Path}: connection lost ({e.Message}); resuming from byte {Length(part)} (attempt {attempt + 1} of {Attempts}).");
                }
            }
            Verify(id, file, part);
            File.Move(part, blob, overwrite: true);
        }
    }

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static bool IsComplete(string blob, HubFile file) => File.Exists(blob) && (file.Size < 0 || new FileInfo(blob).Length == file.Size);

    private static bool IsDiskFull(Exception e) => e is IOException io && (io.HResult is 28 or 112 or 39 || (io.HResult & 0xFFFF) is 112 or 39);

    private async Task FetchAsync(HubRepoId id, string commit, HubFile file, string part, CancellationToken ct)
    {
        long have = Length(part);
        if (file.Size >= 0 && have > file.Size) have = Truncate(part);
        if (file.Size >= 0 && have == file.Size) return;
        using var request = client.Request(HttpMethod.Get, client.ResolveUrl(id, commit, file.Path));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            Truncate(part);
            throw new IOException("the server refused the resume range; starting over");
        }
        if (!response.IsSuccessStatusCode) throw client.Failure(response, id, file.Path);
        if (response.StatusCode != HttpStatusCode.PartialContent) have = Truncate(part); // the server sent the whole file
        await using var output = new FileStream(part, FileMode.Append, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await using var input = await response.Content.ReadAsStreamAsync(ct);
        var progress = new DownloadProgress($"{id.Repo} {file.Path}", file.Size, have, log);
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await input.ReadAsync(buffer, ct)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, n), ct);
            progress.Advance(n);
        }
        await output.FlushAsync(ct);
        progress.Done();
    }

    private static long Truncate(string part)
    {
        using (new FileStream(part, FileMode.Create, FileAccess.Write)) { }
        return 0;
    }

    /// <summary>Size, then sha256 (LFS files) or the git blob id (small files); a mismatch deletes the partial file.</summary>
    private static void Verify(HubRepoId id, HubFile file, string part)
    {
        long length = new FileInfo(part).Length;
        string? problem = null;
        if (file.Size >= 0 && length != file.Size)
        {
            problem = $"it has {length} bytes where the hub lists {file.Size}";
        }
        else if (file.Sha256 is { } expected)
        {
            using var stream = File.OpenRead(part);
            var actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase)) problem = $"its sha256 is {actual} where the hub lists {expected}";
        }
        else if (file.Etag.Length == 40 && file.Etag.All(Uri.IsHexDigit))
        {
            var actual = GitBlobId(part, length);
            if (!actual.Equals(file.Etag, StringComparison.OrdinalIgnoreCase)) problem = $"its git blob id is {actual} where the hub lists {file.Etag}";
        }
        if (problem is null) return;
        File.Delete(part);
        throw new HubException($"The download of {file.Path} from {id.Repo} is corrupt: {problem}. It was deleted; run the command again (a proxy or HF_ENDPOINT mirror may be altering files).");
    }

    private static string GitBlobId(string path, long length)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {length}\0"));
        sha1.AppendData(File.ReadAllBytes(path));
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }
}
