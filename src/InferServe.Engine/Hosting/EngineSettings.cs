namespace InferServe.Engine.Hosting;

/// <summary>
/// Everything needed to stand up an engine, as plain bindable properties (options pattern):
/// the same names come from the command line, appsettings.json ("InferServe" section) and
/// INFERSERVE__* environment variables.
/// </summary>
public sealed class EngineSettings
{
    /// <summary>A Hugging Face model directory or a llama2.c .bin checkpoint.</summary>
    public string? Model { get; set; }
    /// <summary>Tokenizer location when it is not beside the model (llama2.c).</summary>
    public string? Tokenizer { get; set; }
    /// <summary>Execution device: cpu, cuda:0, rocm:0, openvino, cann:0, dml:0, ...</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>ORT intra-op threads; 0 = one per core.</summary>
    public int Threads { get; set; }
    /// <summary>Let ORT's threads spin between graph calls (lower latency, but they compete with attention for cores).</summary>
    public bool OrtSpinning { get; set; } = true;
    /// <summary>Where attention's parallel work runs on CPU: "ort" (ONNX Runtime's intra-op pool) or "dotnet" (the .NET thread pool).</summary>
    public string AttentionThreads { get; set; } = "ort";
    /// <summary>CPU: run each step as one ONNX Runtime run of a whole-step graph (attention as a host custom op) instead of per-layer graphs.</summary>
    public bool StepGraph { get; set; }
    /// <summary>Dense weight precision: fp32, int8 or int4.</summary>
    public string Weights { get; set; } = "fp32";
    /// <summary>int8/int4 weights: quantization block along the input dimension (16..256, power of two).</summary>
    public int WeightBlockSize { get; set; } = 32;
    /// <summary>int8/int4 weights: MatMulNBits accuracy_level (4 = int8 activations; 0/1 = fp32 compute).</summary>
    public int AccuracyLevel { get; set; } = 4;
    /// <summary>KV cache block storage: fp32, fp16, int8 or int4.</summary>
    public string KvDtype { get; set; } = "fp32";
    /// <summary>KV cache memory budget, e.g. 512MiB or 2GiB.</summary>
    public string KvCacheMemory { get; set; } = "512MiB";
    public int BlockSize { get; set; } = 16;
    public int MaxSeqs { get; set; } = 64;
    public int MaxBatchedTokens { get; set; } = 512;
    public int MaxQueue { get; set; } = 1024;
    public bool PrefixCaching { get; set; } = true;
    public double PriorityAgingSeconds { get; set; } = 10;
    /// <summary>Prefill workers: seconds a finished prefill's KV blocks wait for a decode worker before they are freed.</summary>
    public double KvLeaseSeconds { get; set; } = 30;
    /// <summary>Where built ONNX graphs are cached (default ~/.cache/inferserve or $INFERSERVE_CACHE_DIR).</summary>
    public string? CacheDir { get; set; }
}
