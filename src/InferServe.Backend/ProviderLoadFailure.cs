using System.Text.RegularExpressions;

namespace InferServe.Backend;

/// <summary>
/// One line for an execution provider that ONNX Runtime lists but cannot load: which provider, which shared library
/// is missing, and what to install.
/// </summary>
public static partial class ProviderLoadFailure
{
    public static string Describe(ExecutionDevice device, string ortMessage, string? libraryDirectory = null)
    {
        var directory = libraryDirectory ?? NativeLibraryDirectory();
        var missing = MissingLibrary(ortMessage) ?? MissingProviderFile(device, directory) ?? MissingDependency(device, directory);
        var what = missing is null ? "" : $": {missing} could not be loaded";
        var detail = Regex.Replace(ortMessage, @"\s+", " ").Trim();
        return $"Device '{device}': ONNX Runtime lists {device.ProviderName} but cannot load it{what}. {InstallHint(device)} (ONNX Runtime said: {detail})";
    }

    /// <summary>
    /// Where libonnxruntime.so sits, and so where ORT looks for provider libraries: the loaded copy as the process maps it
    /// (Linux), else beside the app (a RID-specific publish) or under runtimes/linux-x64/native (the NuGet build layout).
    /// </summary>
    public static string NativeLibraryDirectory()
    {
        try
        {
            if (File.Exists("/proc/self/maps"))
            {
                foreach (var line in File.ReadLines("/proc/self/maps"))
                {
                    int at = line.IndexOf('/');
                    if (at >= 0 && line.EndsWith("/libonnxruntime.so", StringComparison.Ordinal)) return Path.GetDirectoryName(line[at..])!;
                }
            }
        }
        catch (IOException) { }
        var nested = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        return File.Exists(Path.Combine(nested, "libonnxruntime.so")) ? nested : AppContext.BaseDirectory;
    }

    /// <summary>The library the dynamic loader could not open, innermost first ("libcublasLt.so.12" rather than the provider that needs it).</summary>
    public static string? MissingLibrary(string ortMessage)
    {
        var cannotOpen = CannotOpen().Matches(ortMessage);
        if (cannotOpen.Count > 0) return cannotOpen[^1].Groups[1].Value;
        var failed = FailedToLoad().Match(ortMessage);
        return failed.Success ? failed.Groups[1].Value : null;
    }

    /// <summary>
    /// ORT's exception often names no file ("Failed to load shared library"): look for the provider's libraries where ORT
    /// looks for them, beside libonnxruntime.so. Null when they are there (then a dependency of theirs is missing).
    /// </summary>
    public static string? MissingProviderFile(ExecutionDevice device, string directory)
    {
        string? own = device.Kind switch
        {
            "cuda" or "tensorrt" or "rocm" or "migraphx" or "openvino" or "dnnl" or "cann" => $"libonnxruntime_providers_{device.Kind}.so",
            _ => null,
        };
        if (own is null) return null;
        foreach (var name in new[] { "libonnxruntime_providers_shared.so", own })
            if (!File.Exists(Path.Combine(directory, name))) return Path.Combine(directory, name);
        return null;
    }

    /// <summary>
    /// The provider's files are there but ORT's message names nothing ("Failed to load shared library"): load the provider
    /// library ourselves and read the dynamic loader's own error, which names the dependency it could not open.
    /// </summary>
    public static string? MissingDependency(ExecutionDevice device, string directory)
    {
        var own = Path.Combine(directory, $"libonnxruntime_providers_{device.Kind}.so");
        if (!OperatingSystem.IsLinux() || !File.Exists(own)) return null;
        try
        {
            Dl.Error(); // binds the stub now: its first call looks dlerror up, which would clear the error we want
            var handle = Dl.Open(own, Dl.Now | Dl.Local);
            if (handle != IntPtr.Zero)
            {
                Dl.Close(handle);
                return null;
            }
            var error = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(Dl.Error());
            return error is null ? null : MissingLibrary(error);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static partial class Dl
    {
        public const int Now = 2, Local = 0;

        [System.Runtime.InteropServices.LibraryImport("libdl.so.2", EntryPoint = "dlopen", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
        public static partial IntPtr Open(string path, int flags);

        [System.Runtime.InteropServices.LibraryImport("libdl.so.2", EntryPoint = "dlclose")]
        public static partial int Close(IntPtr handle);

        [System.Runtime.InteropServices.LibraryImport("libdl.so.2", EntryPoint = "dlerror")]
        public static partial IntPtr Error();
    }

    private static string InstallHint(ExecutionDevice device) => device.Kind switch
    {
        "cuda" => "The CUDA build of ONNX Runtime (build with -p:OrtVariant=gpu) needs the CUDA 13 libraries (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10) and cuDNN 9 (libcudnn.so.9) on the library path (LD_LIBRARY_PATH); check with scripts/gpu/check-libs.sh, or use --device cpu.",
        "tensorrt" => "Install libonnxruntime_providers_tensorrt.so beside libonnxruntime.so with TensorRT 10, CUDA 13 and cuDNN 9 on the library path, or use --device cuda:0 or cpu.",
        _ => $"Install the ONNX Runtime build with {device.ProviderName} (its libonnxruntime_providers_*.so beside libonnxruntime.so) and that provider's runtime libraries, or use --device cpu.",
    };

    [GeneratedRegex(@"(lib[\w.+-]+?\.so(?:\.\d+)*): cannot open shared object file")]
    private static partial Regex CannotOpen();

    [GeneratedRegex(@"Failed to load library (\S+?\.so(?:\.\d+)*)")]
    private static partial Regex FailedToLoad();
}
