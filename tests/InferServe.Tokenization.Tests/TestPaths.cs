using InferServe.Tests.Shared;
namespace InferServe.Tokenization.Tests;

internal static class TestPaths
{
    /// <summary>The directory holding InferServe.sln, found by walking up from the test assembly.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Shared model files live next to the repository: ../shared relative to its root.</summary>
    public static string SharedModels => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "models"));

    public static bool IsCi => Requirements.IsCi;

    /// <summary>Path of a file under ../shared/models, or a skip naming what is missing.</summary>
    public static string RequireSharedModel(string relativePath)
    {
        string path = Path.Combine(SharedModels, relativePath);
        if (!File.Exists(path))
        {
            Requirements.Missing($"shared model file not found: {path}");
        }

        return path;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "InferServe.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"InferServe.sln not found above {AppContext.BaseDirectory}");
    }
}
