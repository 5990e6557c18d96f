namespace InferServe.Tokenization;

/// <summary>A tokenizer file is missing, malformed or uses an unsupported feature; the message names the file and field.</summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException(string path, string message, Exception? inner = null)
        : base($"{path}: {message}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file (or directory) that could not be loaded.</summary>
    public string FilePath { get; }
}
