using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace InferServe.Hub;

/// <summary>A model repo on the hub: <c>org/name</c>, optionally <c>@revision</c> and <c>:file</c> (one file, e.g. a GGUF).</summary>
public sealed partial record HubRepoId(string Org, string Name, string Revision = HubRepoId.DefaultRevision, string? File = null)
{
    public const string DefaultRevision = "main";

    public string Repo => $"{Org}/{Name}";
    /// <summary>The cache folder name huggingface_hub uses: models--org--name.</summary>
    public string CacheFolder => $"models--{Org}--{Name}";
    public override string ToString() => Repo + (Revision == DefaultRevision ? "" : "@" + Revision) + (File is null ? "" : ":" + File);

    [GeneratedRegex(@"^(?<org>[A-Za-z0-9][A-Za-z0-9._-]{0,95})/(?<name>[A-Za-z0-9][A-Za-z0-9._-]{0,95})(?:@(?<rev>[A-Za-z0-9][A-Za-z0-9._/-]{0,199}))?(?::(?<file>[A-Za-z0-9._-][A-Za-z0-9._/-]{0,299}))?$")]
    private static partial Regex Pattern();

    /// <summary>Parses <c>org/name[@revision][:file]</c>; anything else (a path, a URL) is not a repo id.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out HubRepoId? id)
    {
        id = null;
        if (string.IsNullOrEmpty(text)) return false;
        var m = Pattern().Match(text);
        if (!m.Success || text.Contains("..", StringComparison.Ordinal)) return false;
        id = new HubRepoId(m.Groups["org"].Value, m.Groups["name"].Value,
            m.Groups["rev"].Success ? m.Groups["rev"].Value : DefaultRevision, m.Groups["file"].Success ? m.Groups["file"].Value : null);
        return true;
    }

    public static HubRepoId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new HubException($"'{text}' is not a hub model id; use org/name, org/name@revision or org/name:file.gguf.");

    /// <summary>A full 40-hex commit hash names a snapshot directly (no ref to resolve).</summary>
    public bool RevisionIsCommit => Revision.Length == 40 && Revision.All(Uri.IsHexDigit);
}
