using InferServe.ModelGen;

namespace InferServe.TestSupport;

/// <summary>Generated tiny HF-format models, written once per test run.</summary>
public static class TinyModels
{
    private static readonly Dictionary<string, string> Written = new();
    private static readonly Lock Gate = new();

    public static string Path(ModelSpec spec)
    {
        lock (Gate)
        {
            if (Written.TryGetValue(spec.Name, out var dir)) return dir;
            dir = System.IO.Path.Combine(TestPaths.GraphCacheDir, "models", spec.Name);
            TestModelGenerator.Ensure(spec, dir);
            Written[spec.Name] = dir;
            return dir;
        }
    }
}
