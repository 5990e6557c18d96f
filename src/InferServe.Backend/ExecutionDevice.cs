namespace InferServe.Backend;

/// <summary>
/// A device string such as "cpu", "cuda:0", "rocm:1", "openvino:GPU", "cann:0", "dml:0",
/// mapped to the ONNX Runtime execution provider that serves it.
/// </summary>
public sealed record ExecutionDevice(string Kind, string? Id, string ProviderName)
{
    private static readonly Dictionary<string, string> Providers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cpu"] = "CPUExecutionProvider",
        ["cuda"] = "CUDAExecutionProvider",
        ["tensorrt"] = "TensorrtExecutionProvider",
        ["rocm"] = "ROCMExecutionProvider",
        ["migraphx"] = "MIGraphXExecutionProvider",
        ["openvino"] = "OpenVINOExecutionProvider",
        ["cann"] = "CANNExecutionProvider",
        ["dml"] = "DmlExecutionProvider",
        ["coreml"] = "CoreMLExecutionProvider",
        ["qnn"] = "QNNExecutionProvider",
        ["xnnpack"] = "XnnpackExecutionProvider",
        ["webgpu"] = "WebGpuExecutionProvider",
        ["dnnl"] = "DnnlExecutionProvider",
    };

    public static IEnumerable<string> KnownKinds => Providers.Keys;

    public static ExecutionDevice Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new BackendException("Device must not be empty; use e.g. cpu, cuda:0, openvino.");
        var parts = text.Trim().Split(':', 2);
        if (!Providers.TryGetValue(parts[0], out var provider))
            throw new BackendException($"Unknown device '{text}'. Known device kinds: {string.Join(", ", Providers.Keys)}.");
        return new ExecutionDevice(parts[0].ToLowerInvariant(), parts.Length > 1 ? parts[1] : null, provider);
    }

    public int DeviceIndex => int.TryParse(Id, out var i) ? i : 0;

    public override string ToString() => Id is null ? Kind : $"{Kind}:{Id}";
}

public sealed class BackendException(string message, Exception? inner = null) : Exception(message, inner);
