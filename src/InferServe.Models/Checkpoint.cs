namespace InferServe.Models;

/// <summary>A dense fp32 tensor in row-major order; matrices are [out, in] as in PyTorch.</summary>
public sealed record WeightTensor(string Name, int[] Shape, float[] Data)
{
    public int Rows => Shape[0];
    public int Cols => Shape.Length > 1 ? Shape[1] : 1;
}

/// <summary>
/// A loaded checkpoint: config, tokenizer location and lazily read weights under canonical names
/// (<see cref="WeightNames"/>). Reading is lazy so graph building can stream layer by layer.
/// </summary>
public interface ICheckpoint : IDisposable
{
    ModelConfig Config { get; }
    /// <summary>Where the tokenizer lives (a tokenizer.json directory or a llama2.c .bin), if known.</summary>
    string? TokenizerPath { get; }
    /// <summary>Directory holding tokenizer_config.json and friends, when the checkpoint is a HF directory.</summary>
    string? ModelDirectory { get; }
    /// <summary>Content hash of the source files; keys the on-disk graph cache.</summary>
    string Fingerprint { get; }
    /// <summary>llama2.c checkpoints use BOS as the end-of-text delimiter.</summary>
    bool StopsAtBos { get; }
    bool Contains(string name);
    WeightTensor Read(string name);
}

public static class CheckpointExtensions
{
    public static WeightTensor ReadExpect(this ICheckpoint checkpoint, string name, params int[] shape)
    {
        var t = checkpoint.Read(name);
        if (!t.Shape.AsSpan().SequenceEqual(shape))
            throw new ModelLoadException($"Tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}].");
        return t;
    }
}
