using System.Text.Json;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>Reading tokenizer files' JSON with errors that name the field.</summary>
internal static class HfJson
{
    internal static string TypeOf(JsonElement e, string field) => RequiredString(e, "type", field);

    internal static string RequiredString(JsonElement e, string name, string field) =>
        Required(e, name, $"{field}.{name}").GetString() ?? throw Invalid($"{field}.{name} must be a string");

    internal static JsonElement Required(JsonElement e, string name, string field) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v
            : throw Invalid($"field '{field}' is missing");

    internal static JsonElement? Optional(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    internal static InvalidTokenizerFileException Invalid(string message) => new(FileKind.TokenizerJson, message);

    internal enum FileKind
    {
        TokenizerJson,
        Config,
        Generation,
    }

    /// <summary>Thrown while building; rethrown as <see cref="TokenizerLoadException"/> with the file path.</summary>
    internal sealed class InvalidTokenizerFileException(FileKind file, string message) : Exception(message)
    {
        public FileKind File { get; } = file;
    }
}
