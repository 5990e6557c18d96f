using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace InferServe.Hub;

/// <summary>One file of a revision: its size and the name of its blob (sha256 for LFS files, git blob id otherwise).</summary>
public sealed record HubFile(string Path, long Size, string Etag, string? Sha256);

/// <summary>A revision resolved to its commit, with the files it holds.</summary>
public sealed record HubRevision(string Commit, IReadOnlyList<HubFile> Files);

/// <summary>The hub's HTTP API: <c>/api/models/{repo}/revision/{rev}</c> for metadata, <c>/{repo}/resolve/{commit}/{file}</c> for content.</summary>
public sealed class HubClient(HttpClient http, HubSettings settings)
{
    public string Endpoint => settings.Endpoint;

    public async Task<HubRevision> GetRevisionAsync(HubRepoId id, CancellationToken ct)
    {
        using var request = Request(HttpMethod.Get, $"{settings.Endpoint}/api/models/{id.Repo}/revision/{Uri.EscapeDataString(id.Revision)}?blobs=true");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode) throw Failure(response, id, null);
        using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
        var root = doc.RootElement;
        var commit = root.TryGetProperty("sha", out var sha) ? sha.GetString() : null;
        if (commit is null || !root.TryGetProperty("siblings", out var siblings))
            throw new HubException($"{settings.Endpoint} answered the metadata of {id} without a commit or file list; is HF_ENDPOINT a Hugging Face hub?");
        var files = new List<HubFile>();
        foreach (var s in siblings.EnumerateArray())
        {
            var path = s.GetProperty("rfilename").GetString()!;
            string? sha256 = null;
            long? size = s.TryGetProperty("size", out var sz) && sz.ValueKind == JsonValueKind.Number ? sz.GetInt64() : null;
            if (s.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
            {
                sha256 = (lfs.TryGetProperty("sha256", out var h) || lfs.TryGetProperty("oid", out h)) ? h.GetString() : null;
                if (sha256?.StartsWith("sha256:", StringComparison.Ordinal) == true) sha256 = sha256[7..];
                if (lfs.TryGetProperty("size", out var ls)) size = ls.GetInt64();
            }
            var etag = sha256 ?? (s.TryGetProperty("blobId", out var blob) ? blob.GetString() : null);
            files.Add(new HubFile(path, size ?? -1, etag ?? "", sha256));
        }
        return new HubRevision(commit, files);
    }

    /// <summary>Size and blob name from a HEAD of the resolve URL (X-Linked-Etag / X-Linked-Size for LFS files), for hubs whose API leaves them out.</summary>
    public async Task<HubFile> HeadAsync(HubRepoId id, string commit, string path, CancellationToken ct)
    {
        using var request = Request(HttpMethod.Head, ResolveUrl(id, commit, path));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode) throw Failure(response, id, path);
        static string? Header(HttpResponseMessage r, string name) => r.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;
        var linked = Header(response, "X-Linked-Etag");
        var etag = (linked ?? response.Headers.ETag?.Tag ?? Header(response, "ETag"))?.Trim('"').Replace("W/", "", StringComparison.Ordinal)
            ?? throw new HubException($"{settings.Endpoint} sent no ETag for {path} of {id}; the file cannot be checked.");
        var size = long.TryParse(Header(response, "X-Linked-Size"), out var s) ? s : response.Content.Headers.ContentLength ?? -1;
        return new HubFile(path, size, etag, linked is null ? null : etag);
    }

    public string ResolveUrl(HubRepoId id, string commit, string path) =>
        $"{settings.Endpoint}/{id.Repo}/resolve/{commit}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}";

    public HttpRequestMessage Request(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        // HttpClient drops Authorization on redirects, so the token never reaches the CDN.
        if (settings.Token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.Token);
        return request;
    }

    /// <summary>The one line for a hub error status.</summary>
    public HubException Failure(HttpResponseMessage response, HubRepoId id, string? path)
    {
        var code = response.Headers.TryGetValues("X-Error-Code", out var v) ? v.FirstOrDefault() : null;
        var page = $"{settings.Endpoint}/{id.Repo}";
        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new HubException(settings.Token is null
                ? $"{id.Repo} is gated or private (HTTP {(int)response.StatusCode}): accept its terms at {page} and set HF_TOKEN to a token with read access."
                : $"{id.Repo} refused the token in HF_TOKEN (HTTP {(int)response.StatusCode}): accept the model's terms at {page}, or use a token with read access to it."),
            HttpStatusCode.NotFound when code == "RevisionNotFound" =>
                new HubException($"Revision '{id.Revision}' of {id.Repo} does not exist; check the branch, tag or commit at {page}."),
            HttpStatusCode.NotFound when path is not null || code == "EntryNotFound" =>
                new HubException($"{path} is not in {id.Repo}@{id.Revision}; check the file name at {page}/tree/{id.Revision}."),
            HttpStatusCode.NotFound => new HubException(
                $"Model {id.Repo} was not found on {settings.Endpoint}: check the id (org/name){(settings.Token is null ? ", or set HF_TOKEN if it is private" : "")}."),
            _ => new HubException($"{settings.Endpoint} answered HTTP {(int)response.StatusCode} for {id}{(path is null ? "" : " " + path)}; try again later."),
        };
    }
}
