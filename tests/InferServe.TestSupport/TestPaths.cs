namespace InferServe.TestSupport;

/// <summary>Where tests find the repository and the models beside it: the one repository-root finder.</summary>
public static class TestPaths
{
    /// <summary>The directory holding InferServe.sln, found by walking up from the test assembly.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "InferServe.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (InferServe.sln) above the test assembly.");
    }

    /// <summary>Shared model files live next to the repository: ../shared relative to its root.</summary>
    public static string SharedModels => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "models"));

    /// <summary>Path of a file under ../shared/models, or a skip (a failure under CI) naming what is missing.</summary>
    public static string RequireSharedModel(string relativePath)
    {
        string path = Path.Combine(SharedModels, relativePath);
        if (!File.Exists(path)) Requirements.Missing($"shared model file not found: {path}");
        return path;
    }

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
