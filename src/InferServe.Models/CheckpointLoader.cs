namespace InferServe.Models;

/// <summary>Opens a model path: a Hugging Face directory, a GGUF file or a llama2.c .bin file.</summary>
public static class CheckpointLoader
{
    public static ICheckpoint Open(string path, string? tokenizerPath = null)
    {
        if (Directory.Exists(path))
        {
            if (File.Exists(Path.Combine(path, "config.json"))) return new HuggingFaceCheckpoint(path);
            throw new ModelLoadException($"'{path}' is a directory without config.json; expected a Hugging Face model directory.");
        }
        if (File.Exists(path))
        {
            if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)) return new Llama2cCheckpoint(path, tokenizerPath);
            if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return new Gguf.GgufCheckpoint(path);
            throw new ModelLoadException($"'{path}' is not a supported model file; pass a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint.");
        }
        throw new ModelLoadException($"Model path '{path}' does not exist.");
    }
}
