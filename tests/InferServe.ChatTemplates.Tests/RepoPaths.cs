using InferServe.TestSupport;

namespace InferServe.ChatTemplates.Tests;

/// <summary>This project's files in the repository (tests read templates in place, not copies).</summary>
internal static class RepoPaths
{
    public static string Root => TestPaths.RepoRoot;

    public static string TestDir => Path.Combine(Root, "tests", "InferServe.ChatTemplates.Tests");

    public static string Template(string fileName) => Path.Combine(TestDir, "templates", fileName);
}
