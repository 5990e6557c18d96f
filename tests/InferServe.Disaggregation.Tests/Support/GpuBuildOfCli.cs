using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests.Support;

/// <summary>
/// The CLI as `-p:OrtVariant=gpu` ships it, assembled without a second build: this build's managed files with ONNX
/// Runtime's CUDA native libraries (restored by scripts/ci/setup-ort-gpu-package.sh) in place of the CPU ones. It lists
/// the CUDA provider; on a machine without CUDA 13 and cuDNN 9 the provider cannot load, which is what the tests check.
/// </summary>
public static class GpuBuildOfCli
{
    private static readonly Lazy<string?> Built = new(Assemble);

    /// <summary>The inferserve.dll of the GPU build; a missing package skips locally and fails under CI.</summary>
    public static string DllPath()
    {
        var dll = Built.Value;
        if (dll is null)
            Requirements.Missing("ONNX Runtime's CUDA package is not restored: run scripts/ci/setup-ort-gpu-package.sh.");
        return dll;
    }

    private static string? Assemble()
    {
        var package = Path.Combine(TestPaths.RepoRoot, ".deps", "nuget-gpu", "microsoft.ml.onnxruntime.gpu.linux");
        var native = Directory.Exists(package)
            ? Directory.EnumerateDirectories(package).Select(v => Path.Combine(v, "runtimes", "linux-x64", "native"))
                .FirstOrDefault(d => File.Exists(Path.Combine(d, "libonnxruntime_providers_cuda.so")))
            : null;
        if (native is null) return null;

        var cpuBuild = Path.GetDirectoryName(ServerProcess.CliPath)!;
        var dir = Directory.CreateTempSubdirectory("inferserve-gpu-build-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        foreach (var file in Directory.EnumerateFiles(cpuBuild)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        foreach (var sub in Directory.EnumerateDirectories(cpuBuild).Where(d => Path.GetFileName(d) != "runtimes"))
            Directory.CreateSymbolicLink(Path.Combine(dir, Path.GetFileName(sub)), sub);
        // ORT looks for its provider libraries beside libonnxruntime.so, so all of them sit in one folder.
        var target = Directory.CreateDirectory(Path.Combine(dir, "runtimes", "linux-x64", "native")).FullName;
        foreach (var lib in Directory.EnumerateFiles(native, "*.so"))
            File.CreateSymbolicLink(Path.Combine(target, Path.GetFileName(lib)), lib);
        return Path.Combine(dir, "inferserve.dll");
    }
}
