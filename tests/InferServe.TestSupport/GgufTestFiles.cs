namespace InferServe.TestSupport;

/// <summary>
/// GGUF test files: those written by llama.cpp's gguf-py into .deps/gguf-test-files by scripts/ci/setup-gguf-peer.sh
/// (missing files skip locally and fail under CI=true), and the committed fixtures in Gguf/fixtures (gen256's F32 original
/// and its llama-quantize files; see PROVENANCE.md there), which every checkout has.
/// </summary>
public static class GgufTestFiles
{
    public static string Directory { get; } = Environment.GetEnvironmentVariable("INFERSERVE_GGUF_TEST_DIR") is { Length: > 0 } d
        ? d
        : Path.Combine(TestPaths.RepoRoot, ".deps", "gguf-test-files");

    public static string FixtureDirectory { get; } = Path.Combine(TestPaths.RepoRoot, "tests", "InferServe.Models.Tests", "Gguf", "fixtures");

    /// <summary>The file's path; skips (or fails under CI) when the setup script has not made it.</summary>
    public static string Require(string name)
    {
        var path = Path.Combine(Directory, name);
        if (File.Exists(path)) return path;
        Requirements.Missing($"{path} is missing; run scripts/ci/setup-gguf-peer.sh (needs ../shared/peers/llama-cpp and python3-numpy).");
        return path;
    }

    /// <summary>A committed fixture: never skips. A missing or LFS-pointer file is a broken checkout and fails.</summary>
    public static string Fixture(string name)
    {
        var path = Path.Combine(FixtureDirectory, name);
        Assert.True(File.Exists(path), $"{path} is missing from the checkout (scripts/gguf/make_kquant_fixtures.sh --update makes it).");
        using (var stream = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[4];
            stream.ReadExactly(magic);
            Assert.True(magic.SequenceEqual("GGUF"u8), $"{path} is not a GGUF file (a Git LFS pointer?); the fixtures are plain git blobs.");
        }
        return path;
    }
}
