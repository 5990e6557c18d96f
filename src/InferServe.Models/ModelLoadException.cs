namespace InferServe.Models;

/// <summary>A checkpoint that cannot be used: missing files, unsupported architecture, bad tensors.</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
