namespace InferServe.ChatTemplates.Tests;

/// <summary>Locates repository files from the test binary's folder (tests read templates in place, not copies).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string TestDir => Path.Combine(Root, "tests", "InferServe.ChatTemplates.Tests");

    public static string Template(string fileName) => Path.Combine(TestDir, "templates", fileName);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props"))
                && Directory.Exists(Path.Combine(dir.FullName, "tests", "InferServe.ChatTemplates.Tests")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Repository root not found above " + AppContext.BaseDirectory);
    }
}
