namespace InferServe.Engine.Attention;

/// <summary>
/// Attention over the paged KV cache for one layer of a step: applies RoPE to the new tokens' q/k,
/// stores their k/v into the cache, and writes causal attention outputs. Host memory here; a
/// device-side implementation can replace it for accelerators.
/// </summary>
public interface IAttentionBackend
{
    /// <param name="qkv">[T, QDim + 2*KvDim] rows from the attention-input graph (rotated in place).</param>
    /// <param name="output">[T, QDim] attention outputs.</param>
    void Forward(int layer, AttentionBatch batch, Span<float> qkv, Span<float> output);
}
