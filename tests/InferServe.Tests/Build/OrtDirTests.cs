using System.Diagnostics;
using System.Text.Json;
using InferServe.Tests.Support;

namespace InferServe.Tests.Build;

/// <summary>The build reads ONNX Runtime from where scripts/fetch-onnxruntime.sh put it: INFERSERVE_ORT_DIR when set.</summary>
public sealed class OrtDirTests
{
    private static string Project => Path.Combine(TestPaths.RepoRoot, "src", "OnnxRuntime.Managed", "OnnxRuntime.Managed.csproj");

    /// <summary>Runs `dotnet msbuild` on the ONNX Runtime project with the variable set (or removed) and returns its JSON answer.</summary>
    private static async Task<JsonElement> MsBuildAsync(string? ortDir, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("msbuild");
        info.ArgumentList.Add(Project);
        info.ArgumentList.Add("-nologo");
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("INFERSERVE_ORT_DIR");
        if (ortDir is not null) info.Environment["INFERSERVE_ORT_DIR"] = ortDir;
        info.Environment["MSBUILDNOINPROCNODE"] = "1";
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(p.ExitCode == 0, $"dotnet msbuild {string.Join(' ', args)} exited {p.ExitCode}:\n{await stdout}\n{await stderr}");
        var text = (await stdout).Trim();
        return text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : JsonSerializer.SerializeToElement(text);
    }

    [Fact(Timeout = 300_000)]
    public async Task Without_the_variable_the_build_reads_deps_onnxruntime()
    {
        var dir = (await MsBuildAsync(null, "-getProperty:OrtDir")).GetString();
        Assert.Equal(Path.Combine(TestPaths.RepoRoot, ".deps", "onnxruntime") + "/", dir);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_build_compiles_and_copies_onnx_runtime_from_INFERSERVE_ORT_DIR()
    {
        // A fetched copy elsewhere: the script's layout (stamp, lib/, managed/) pointing at this checkout's files.
        var real = Path.Combine(TestPaths.RepoRoot, ".deps", "onnxruntime");
        var other = Directory.CreateTempSubdirectory("inferserve-ort-").FullName;
        try
        {
            File.Copy(Path.Combine(real, ".stamp"), Path.Combine(other, ".stamp"));
            Directory.CreateSymbolicLink(Path.Combine(other, "lib"), Path.Combine(real, "lib"));
            Directory.CreateSymbolicLink(Path.Combine(other, "managed"), Path.Combine(real, "managed"));

            var answer = await MsBuildAsync(other, "-t:FetchOnnxRuntime", "-getProperty:OrtDir", "-getItem:Compile", "-getItem:None");
            Assert.Equal(other + "/", answer.GetProperty("Properties").GetProperty("OrtDir").GetString());
            var items = answer.GetProperty("Items");
            var compiled = items.GetProperty("Compile").EnumerateArray().Select(i => i.GetProperty("Identity").GetString()!).ToList();
            Assert.Contains(compiled, f => f.StartsWith(Path.Combine(other, "managed") + "/", StringComparison.Ordinal) && f.EndsWith("InferenceSession.shared.cs", StringComparison.Ordinal));
            Assert.DoesNotContain(compiled, f => f.StartsWith(real + "/", StringComparison.Ordinal));
            var native = items.GetProperty("None").EnumerateArray().Select(i => i.GetProperty("Identity").GetString()!).ToList();
            Assert.Contains(Path.Combine(other, "lib", "libonnxruntime.so.1"), native);
        }
        finally
        {
            Directory.Delete(other, recursive: true); // removes the links, not what they point at
        }
    }
}
