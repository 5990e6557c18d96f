using Microsoft.ML.OnnxRuntime;

namespace InferServe.Backend;

public sealed record BackendOptions
{
    public string Device { get; init; } = "cpu";
    /// <summary>Threads for ORT's shared intra-op pool; 0 means one per core.</summary>
    public int Threads { get; init; }
    /// <summary>Spin-waiting cuts latency between back-to-back graph calls but burns cores the attention kernel wants.</summary>
    public bool AllowSpinning { get; init; } = true;
}

/// <summary>
/// The ONNX Runtime backend of one worker: one execution provider, one shared thread pool for all
/// graphs (per-session pools would oversubscribe the cores with dozens of layer graphs).
/// </summary>
public sealed class OrtBackend : IDisposable
{
    private static readonly object EnvLock = new();
    private static OrtEnv? _env;
    private static int _envThreads;
    private static bool _globalPools = true;

    public ExecutionDevice Device { get; }
    public BackendOptions Options { get; }

    public OrtBackend(BackendOptions options)
    {
        Options = options;
        Device = ExecutionDevice.Parse(options.Device);
        var env = Environment(options);
        var available = env.GetAvailableProviders();
        if (!available.Contains(Device.ProviderName))
        {
            throw new BackendException(
                $"Device '{Device}' needs {Device.ProviderName}, which the loaded ONNX Runtime does not provide (available: {string.Join(", ", available)}).{BuildHint(Device)}");
        }
        // Listed is not loadable: shared providers (CUDA, TensorRT, ...) load their library on first use. Find out now, not
        // mid-load, and say it once: ORT's own error log of the failure is muted for the probe.
        var level = env.EnvLogLevel;
        env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        try
        {
            using var probe = new SessionOptions();
            AppendProvider(probe);
        }
        finally
        {
            env.EnvLogLevel = level;
        }
    }

    private static string BuildHint(ExecutionDevice device) => device.Kind is "cuda" or "tensorrt"
        ? " Build or publish with -p:OrtVariant=gpu for ONNX Runtime's CUDA build (README, GPU section)."
        : "";

    public static string[] AvailableProviders() => Environment(new BackendOptions()).GetAvailableProviders();

    private static OrtEnv Environment(BackendOptions options)
    {
        lock (EnvLock)
        {
            if (_env is not null) return _env;
            if (OrtEnv.IsCreated)
            {
                // Someone created the default environment first: fall back to per-session pools.
                _globalPools = false;
                _envThreads = options.Threads > 0 ? options.Threads : System.Environment.ProcessorCount;
                return _env = OrtEnv.Instance();
            }
            int threads = options.Threads > 0 ? options.Threads : System.Environment.ProcessorCount;
            var threading = new OrtThreadingOptions { GlobalIntraOpNumThreads = threads, GlobalInterOpNumThreads = 1, GlobalSpinControl = options.AllowSpinning };
            var creation = new EnvironmentCreationOptions { logId = "inferserve", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, threadOptions = threading };
            _env = OrtEnv.CreateInstanceWithOptions(ref creation);
            _envThreads = threads;
            return _env;
        }
    }

    public int Threads => _envThreads;

    /// <summary>Whether sessions share the process-wide intra-op pool (they do unless the default environment existed first).</summary>
    public bool UsesGlobalThreadPool => _globalPools;

    public OrtGraph Load(string name, string onnxPath) => Load(name, onnxPath, InputStagingRules.For(Device));

    /// <summary>Loads a graph with an explicit input rule (tests pin a device's rule on the CPU).</summary>
    public OrtGraph Load(string name, string onnxPath, InputStaging staging) => new(name, CreateSession(name, onnxPath), staging);

    /// <summary>Loads a graph whose nodes include host custom ops (<see cref="OrtHostAttention"/>).</summary>
    public OrtGraph LoadWithHostOps(string name, string onnxPath) => new(name, CreateSession(name, onnxPath, hostOps: true), InputStagingRules.For(Device));

    /// <summary>An ORT session on this backend's provider and thread pool.</summary>
    internal InferenceSession CreateSession(string name, string onnxPath, bool hostOps = false)
    {
        using var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (_globalPools)
        {
            so.DisablePerSessionThreads();
        }
        else
        {
            so.IntraOpNumThreads = _envThreads;
            so.InterOpNumThreads = 1;
        }
        AppendProvider(so);
        if (hostOps) OrtCustomOps.AddDomain(so);
        try
        {
            return new InferenceSession(onnxPath, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new BackendException($"ONNX Runtime could not load graph '{name}' ({onnxPath}) on {Device}: {e.Message}", e);
        }
    }

    /// <summary>The device's own memory for ORT's allocator, or null where the provider computes on host memory.</summary>
    internal OrtMemoryInfo? DeviceMemory() => Device.Kind switch
    {
        "cuda" or "tensorrt" => new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Device.DeviceIndex, OrtMemType.Default),
        _ => null,
    };

    private void AppendProvider(SessionOptions so)
    {
        try
        {
            AppendProviderUnchecked(so);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new BackendException(ProviderLoadFailure.Describe(Device, e.Message), e);
        }
    }

    private void AppendProviderUnchecked(SessionOptions so)
    {
        switch (Device.Kind)
        {
            case "cpu": break; // always last in the chain anyway
            case "cuda": so.AppendExecutionProvider_CUDA(Device.DeviceIndex); break;
            case "tensorrt": so.AppendExecutionProvider_Tensorrt(Device.DeviceIndex); break;
            case "rocm": so.AppendExecutionProvider_ROCm(Device.DeviceIndex); break;
            case "migraphx": so.AppendExecutionProvider_MIGraphX(Device.DeviceIndex); break;
            case "dml": so.AppendExecutionProvider_DML(Device.DeviceIndex); break;
            case "openvino": so.AppendExecutionProvider_OpenVINO(Device.Id ?? ""); break;
            case "dnnl": so.AppendExecutionProvider_Dnnl(); break;
            case "cann":
                so.AppendExecutionProvider("CANN", new Dictionary<string, string> { ["device_id"] = Device.DeviceIndex.ToString() });
                break;
            default:
                so.AppendExecutionProvider(Device.Kind switch
                {
                    "qnn" => "QNN",
                    "xnnpack" => "XNNPACK",
                    "coreml" => "CoreML",
                    "webgpu" => "WebGPU",
                    _ => Device.Kind,
                }, Device.Id is null ? null : new Dictionary<string, string> { ["device_id"] = Device.Id });
                break;
        }
    }

    public void Dispose() { }
}
