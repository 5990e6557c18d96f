using InferServe.ModelGen;

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

    /// <summary>A generated random-weight model of that shape under the cache root, made once.</summary>
    public static string RandomWeights(string cacheRoot, string shape)
    {
        var spec = ModelSpec.ByName(shape);
        var dir = Path.Combine(cacheRoot, "models", spec.Name);
        if (!File.Exists(Path.Combine(dir, ".inferserve-spec"))) Console.Error.WriteLine($"Generating random-weight model '{spec.Name}' in {dir} ...");
        return TestModelGenerator.Ensure(spec, dir);
    }

    /// <summary>
    /// The model to load, once the arguments are known to be valid: the embedded default when none was given, a hub id
    /// resolved into the Hugging Face cache, said at startup either way.
    /// </summary>
    public static string Finish(string? model)
    {
        if (model is null)
        {
            if (!File.Exists(EmbeddedModel))
                throw new UsageException($"The embedded default model is missing at {EmbeddedModel} (the build copies models/ beside the binary); pass --model PATH or a --shape.");
            model = EmbeddedModel;
        }
        else
        {
            model = HubModels.Resolve(model);
        }

        if (Describe(model) is { } line) Console.Error.WriteLine(line);
        return model;
    }

    /// <summary>The startup line for the embedded default and for random-weight models, so neither is mistaken for something else.</summary>
    private static string? Describe(string model)
    {
        if (Path.GetFullPath(model) == EmbeddedModel)
            return $"Model: embedded default {EmbeddedName} ({EmbeddedModel}): a 260K-parameter TinyStories model that continues text with short English stories. Pass --model for another model.";
        if (File.Exists(Path.Combine(model, ".inferserve-spec")))
            return $"Model: random-weight '{Path.GetFileName(model.TrimEnd('/'))}' ({model}): real shapes, random weights, so its text is not language.";
        return null;
    }

    /// <summary>
    /// A llama2.c checkpoint has no tokenizer_config.json: a chat_template.jinja beside it is its chat template, and
    /// without one it gets the embedded default's (the messages' text in order), as every llama2.c model is a plain
    /// text model like stories260K. Every role that renders chats (all, gateway) resolves it the same way.
    /// </summary>
    public static string? ChatTemplateBeside(string? model)
    {
        if (model is null || !File.Exists(model)) return null;
        var path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, ChatTemplateFile);
        if (File.Exists(path)) return path;
        var plain = Path.Combine(EmbeddedDirectory, ChatTemplateFile);
        bool llama2c = !model.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);
        return llama2c && File.Exists(plain) ? plain : null;
    }
}
