using InferServe.Tokenization.Gguf;
using InferServe.Tokenization.HuggingFace;
using InferServe.Tokenization.Llama2c;

namespace InferServe.Tokenization;

public static class TokenizerLoader
{
    /// <summary>
    /// Loads a tokenizer from a directory with tokenizer.json (+ optional tokenizer_config.json and
    /// generation_config.json), a tokenizer.json path, a GGUF model file (its tokenizer.* metadata),
    /// or a llama2.c tokenizer .bin file.
    /// </summary>
    /// <exception cref="TokenizerLoadException">The file is missing, malformed or uses an unsupported feature.</exception>
    public static ITokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            string json = Path.Combine(path, "tokenizer.json");
            if (File.Exists(json))
            {
                return HfTokenizerLoader.Load(json);
            }

            string bin = Path.Combine(path, "tokenizer.bin");
            if (File.Exists(bin))
            {
                return Llama2cTokenizer.Load(bin);
            }

            throw new TokenizerLoadException(path, "directory has neither tokenizer.json nor tokenizer.bin");
        }

        if (!File.Exists(path))
        {
            throw new TokenizerLoadException(path, "file not found", new FileNotFoundException(null, path));
        }

        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            return GgufTokenizerLoader.Load(path);
        }

        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? HfTokenizerLoader.Load(path) : Llama2cTokenizer.Load(path);
    }
}
