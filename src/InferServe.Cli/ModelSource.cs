using InferServe.ModelGen;
using InferServe.Models;
using InferServe.Onnx;

namespace InferServe.Cli;

/// <summary>
/// Where the model comes from: --model PATH, --shape NAME for a generated random-weight model, or the embedded
/// default (models/stories260K beside the binary).
/// </summary>
public static class ModelSource
{
    public const string EmbeddedName = "stories260K";
    public const string ChatTemplateFile = "chat_template.jinja";

    /// <summary>models/stories260K, copied next to the CLI binary by the build.</summary>
    public static string EmbeddedDirectory => Path.Combine(AppContext.BaseDirectory, "models", EmbeddedName);
    public static string EmbeddedModel => Path.Combine(EmbeddedDirectory, "stories260K.bin");

    public static string CacheRoot(CommandLine cmd) => cmd.Get("cache-dir") ?? GraphCache.DefaultRoot;

    public static ICheckpoint Open(CommandLine cmd, string? defaultShape = null) =>
        CheckpointLoader.Open(ResolvePath(cmd, defaultShape) ?? throw new UsageException("--model is required (a Hugging Face directory or a llama2.c .bin), or --shape for a generated random-weight model."), cmd.Get("tokenizer"));

    /// <summary>The model path from --model, or a generated model's directory for --shape (or the default shape).</summary>
    public static string? ResolvePath(CommandLine cmd, string? defaultShape = null)
    {
        var model = cmd.Get("model");
        var shape = cmd.Get("shape");
        if (model is not null && shape is not null) throw new UsageException("Give either --model or --shape, not both.");
        if (model is not null) return model;
        shape ??= defaultShape;
        return shape is null ? null : RandomWeights(cmd, shape);
    }

    private static string RandomWeights(CommandLine cmd, string shape)
    {
        var spec = ModelSpec.ByName(shape);
        var dir = Path.Combine(CacheRoot(cmd), "models", spec.Name);
        if (!File.Exists(Path.Combine(dir, ".inferserve-spec"))) Console.Error.WriteLine($"Generating random-weight model '{spec.Name}' in {dir} ...");
        Console.Error.WriteLine($"Model: random-weight '{spec.Name}' (--shape {shape}): real shapes, random weights, so its text is not language.");
        return TestModelGenerator.Ensure(spec, dir);
    }

    /// <summary>The embedded stories260K, said at startup so nobody mistakes it for a chat model.</summary>
    public static string EmbeddedDefault()
    {
        if (!File.Exists(EmbeddedModel))
            throw new UsageException($"The embedded default model is missing at {EmbeddedModel} (the build copies models/ beside the binary); pass --model PATH or a --shape.");
        Console.Error.WriteLine($"Model: embedded default {EmbeddedName} ({EmbeddedModel}): a 260K-parameter TinyStories model that continues text with short English stories. Pass --model for another model.");
        return EmbeddedModel;
    }

    /// <summary>A llama2.c checkpoint has no tokenizer_config.json; a chat_template.jinja beside it is its chat template.</summary>
    public static string? ChatTemplateBeside(string? model)
    {
        if (model is null || !File.Exists(model)) return null;
        var path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, ChatTemplateFile);
        return File.Exists(path) ? path : null;
    }
}
