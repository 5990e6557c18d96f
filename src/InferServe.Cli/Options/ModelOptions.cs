using System.CommandLine;
using InferServe.ModelGen;
using InferServe.Models;
using InferServe.Onnx;

namespace InferServe.Cli.Options;

/// <summary>
/// Where the model comes from: --model PATH|ID, --shape NAME for a generated random-weight model (under --cache-dir), or
/// the command's default. Shared by every command that loads a model.
/// </summary>
public sealed class ModelOptions : List<Option>
{
    public Option<string?> Model { get; } = Opt.Text("--model", "Hugging Face directory, .gguf file, llama2.c .bin, or hub id org/name[@revision][:file] " +
        "(downloaded into the Hugging Face cache; an existing local path wins)", helpName: "PATH|ID");
    public Option<string?> Shape { get; } = Opt.Text("--shape", "Generated random-weight model (tiny, smollm2-135m, llama-3.2-1b, ...): real shapes, random weights, no language",
        check: s => ModelSpec.ByName(s), helpName: "NAME");
    public Option<string?> Tokenizer { get; } = Opt.Text("--tokenizer", "Tokenizer when it is not beside the model", helpName: "PATH");
    public Option<string?> CacheDir { get; } = Opt.Text("--cache-dir", "Compiled graphs and generated models (default $INFERSERVE_CACHE_DIR or ~/.cache/inferserve)", helpName: "DIR");

    public ModelOptions() => AddRange([Model, Shape, Tokenizer, CacheDir]);

    public string CacheRoot(ParseResult p) => p.GetValue(CacheDir) ?? GraphCache.DefaultRoot;

    public ICheckpoint Open(ParseResult p, string? defaultShape = null) =>
        CheckpointLoader.Open(ResolvePath(p, defaultShape) ?? throw new UsageException("--model is required (a Hugging Face directory, a llama2.c .bin or a hub id org/name), or --shape for a generated random-weight model."),
            p.GetValue(Tokenizer));

    /// <summary>The model path from --model (a hub id resolved unless <paramref name="resolveHub"/> is false), or a generated model's directory for --shape (or the default shape).</summary>
    public string? ResolvePath(ParseResult p, string? defaultShape = null, bool resolveHub = true)
    {
        var model = p.GetValue(Model);
        var shape = p.GetValue(Shape);
        if (model is not null && shape is not null) throw new UsageException("Give either --model or --shape, not both.");
        if (model is not null) return resolveHub ? HubModels.Resolve(model) : model;
        shape ??= defaultShape;
        return shape is null ? null : ModelSource.RandomWeights(CacheRoot(p), shape);
    }
}
