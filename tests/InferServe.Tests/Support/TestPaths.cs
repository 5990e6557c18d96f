using InferServe.Tests.Shared;
namespace InferServe.Tests.Support;

public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "InferServe.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (InferServe.sln) above the test assembly.");
    }

    public static string SharedModels => Path.Combine(RepoRoot, "..", "shared", "models");

    /// <summary>The real stories260K checkpoint directory, or a skip with the reason when it is absent.</summary>
    public static string RequireStories260K()
    {
        var dir = Path.Combine(SharedModels, "stories260K");
        if (!File.Exists(Path.Combine(dir, "stories260K.bin")) || !File.Exists(Path.Combine(dir, "tok512.bin")))
            Requirements.Missing($"stories260K is not present at {Path.GetFullPath(dir)} (../shared/models is only on the project's machines).");
        return dir;
    }

    /// <summary>A per-run graph cache so tests never read a developer's stale cache.</summary>
    public static string GraphCacheDir { get; } = Path.Combine(Path.GetTempPath(), "inferserve-tests-" + Environment.ProcessId);
}
