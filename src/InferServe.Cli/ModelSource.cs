using InferServe.ModelGen;
using InferServe.Models;
using InferServe.Onnx;

namespace InferServe.Cli;

/// <summary>Where the model comes from: --model PATH, or --shape NAME for a generated random-weight model.</summary>
public static class ModelSource
{
    public static string CacheRoot(CommandLine cmd) => cmd.Get("cache-dir") ?? GraphCache.DefaultRoot;

    public static ICheckpoint Open(CommandLine cmd, string? defaultShape = null) =>
        CheckpointLoader.Open(ResolvePath(cmd, defaultShape) ?? throw new UsageException("--model is required (a Hugging Face directory or a llama2.c .bin), or --shape for a generated model."), cmd.Get("tokenizer"));

    /// <summary>The model path from --model, or a generated model's directory for --shape (or the default shape).</summary>
    public static string? ResolvePath(CommandLine cmd, string? defaultShape = null)
    {
        var model = cmd.Get("model");
        var shape = cmd.Get("shape");
        if (model is not null && shape is not null) throw new UsageException("Give either --model or --shape, not both.");
        if (model is null)
        {
            shape ??= defaultShape;
            if (shape is null) return null;
            var spec = ModelSpec.ByName(shape);
            var dir = Path.Combine(CacheRoot(cmd), "models", spec.Name);
            if (!File.Exists(Path.Combine(dir, ".inferserve-spec"))) Console.Error.WriteLine($"Generating random-weight model '{spec.Name}' in {dir} ...");
            model = TestModelGenerator.Ensure(spec, dir);
        }
        return model;
    }
}
