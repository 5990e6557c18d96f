namespace InferServe.Metrics;

/// <summary>The KV-cache configuration exposed as the cache_config_info metric (label names follow vLLM's CacheConfig).</summary>
/// <param name="BlockSize">Tokens per KV block.</param>
/// <param name="CacheDtype">KV element type, e.g. "fp16", "int8", "int4".</param>
/// <param name="NumGpuBlocks">Number of KV blocks in the paged cache.</param>
/// <param name="NumCpuBlocks">Blocks in a host swap space, 0 when there is none.</param>
/// <param name="EnablePrefixCaching">Whether prefix (block) caching is on.</param>
/// <param name="GpuMemoryUtilization">Fraction of device memory the cache may use.</param>
public sealed record CacheConfigInfo(
    int BlockSize,
    string CacheDtype,
    int NumGpuBlocks,
    int NumCpuBlocks = 0,
    bool EnablePrefixCaching = false,
    double GpuMemoryUtilization = 0);
