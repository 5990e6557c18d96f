using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.Models;

/// <summary>
/// Typed reads from a Hugging Face JSON config (config.json, generation_config.json): JSON null counts as absent, and a
/// value of the wrong type is a <see cref="ModelLoadException"/> that names the file and the key.
/// </summary>
internal sealed class ConfigJson
{
    private readonly string _path;
    private readonly JsonObject _root;

    public ConfigJson(string path)
    {
        _path = path;
        try
        {
            _root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new ModelLoadException($"'{path}' is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    private ConfigJson(string path, JsonObject root)
    {
        _path = path;
        _root = root;
    }

    public bool Has(string key) => _root[key] is not null;

    public string Architecture()
    {
        if (_root["architectures"] is JsonArray { Count: > 0 } a && a[0] is JsonValue v && v.TryGetValue<string>(out var arch)) return arch;
        throw new ModelLoadException($"'{_path}' has no 'architectures' entry (a list of class names).");
    }

    public int Int(string key) => OptInt(key) ?? throw new ModelLoadException($"'{_path}' is missing '{key}'.");

    public int? OptInt(string key) => _root[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        _ => throw WrongType(key, "an integer"),
    };

    public float Float(string key) => OptFloat(key) ?? throw new ModelLoadException($"'{_path}' is missing '{key}'.");

    public float? OptFloat(string key) => _root[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) && double.IsFinite(d) => (float)d,
        _ => throw WrongType(key, "a number"),
    };

    public bool? OptBool(string key) => _root[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => throw WrongType(key, "true or false"),
    };

    public string? OptString(string key) => _root[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw WrongType(key, "a string"),
    };

    public ConfigJson? OptObject(string key) => _root[key] switch
    {
        null => null,
        JsonObject o => new ConfigJson(_path, o),
        _ => throw WrongType(key, "an object"),
    };

    /// <summary>A token id or a list of token ids (eos_token_id); absent is empty.</summary>
    public int[] Ids(string key) => _root[key] switch
    {
        null => [],
        JsonValue v when v.TryGetValue<int>(out var i) => [i],
        JsonArray a => a.Select(x => x is JsonValue e && e.TryGetValue<int>(out var id) ? id : throw WrongType(key, "a token id or a list of token ids")).ToArray(),
        _ => throw WrongType(key, "a token id or a list of token ids"),
    };

    private ModelLoadException WrongType(string key, string expected) => new($"'{_path}': '{key}' must be {expected}.");
}
