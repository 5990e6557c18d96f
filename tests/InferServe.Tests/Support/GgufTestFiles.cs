using InferServe.Tests.Shared;
namespace InferServe.Tests.Support;

/// <summary>
/// GGUF files written by llama.cpp's gguf-py (and llama-quantize) into .deps/gguf-test-files by
/// scripts/ci/setup-gguf-peer.sh. Missing files skip locally and fail under CI=true.
/// </summary>
public static class GgufTestFiles
{
    public static string Directory { get; } = Environment.GetEnvironmentVariable("INFERSERVE_GGUF_TEST_DIR") is { Length: > 0 } d
        ? d
        : Path.Combine(TestPaths.RepoRoot, ".deps", "gguf-test-files");

    /// <summary>The file's path; skips (or fails under CI) when the setup script has not made it.</summary>
    public static string Require(string name)
    {
        var path = Path.Combine(Directory, name);
        if (File.Exists(path)) return path;
        Requirements.Missing($"{path} is missing; run scripts/ci/setup-gguf-peer.sh (needs ../shared/peers/llama-cpp and python3-numpy).");
        return path;
    }

    /// <summary>Files made by llama-quantize, which only exist when the setup script found or built it (a 10-minute build): optional, also in CI.</summary>
    public static string RequireLlamaQuantized(string name)
    {
        var path = Path.Combine(Directory, name);
        if (!File.Exists(path))
            Requirements.Optional($"{path} is missing: llama-quantize was not available to scripts/ci/setup-gguf-peer.sh (INFERSERVE_GGUF_BUILD_QUANTIZE=1 builds it, ~10 min on 2 cores).");
        return path;
    }
}
