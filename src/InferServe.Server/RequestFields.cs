using System.Text.Json;

namespace InferServe.Server;

/// <summary>Typed, validated access to the fields of a JSON request body. JSON null counts as absent; a wrong type is a 400.</summary>
internal readonly struct RequestFields(JsonElement root)
{
    public JsonElement Root { get; } = root;

    public bool TryGet(string name, out JsonElement value)
    {
        if (Root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    public string? String(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw TypeError(name, "a string");
        return Text(v, name);
    }

    /// <summary>
    /// The string value of <paramref name="value"/> (a JSON string). JSON allows escapes of lone UTF-16 surrogates
    /// ("\ud800"), which no .NET string API accepts: those are a 400 naming the field, not an exception deeper in.
    /// </summary>
    public static string Text(JsonElement value, string name)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new ApiException(400, $"'{name}' is not valid Unicode text (it contains an unpaired UTF-16 surrogate escape).", name, "invalid_value", "invalid_request_error");
        }
    }

    public bool? Bool(string name)
    {
        if (!TryGet(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw TypeError(name, "a boolean"),
        };
    }

    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long l)) throw TypeError(name, "an integer");
        if (l < min || l > max)
            throw ApiException.BadRequest($"'{name}' must be {Range(min, max)}, got {l}.", name);
        return (int)l;
    }

    public long? Long(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long l)) throw TypeError(name, "an integer");
        return l;
    }

    /// <summary>A finite number; its range is the engine validator's.</summary>
    public double? Number(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d)) throw TypeError(name, "a number");
        return d;
    }

    /// <summary>
    /// Rejects a body holding a string or member name that is not valid UTF-16 (an escaped lone surrogate such as
    /// "\ud800"): System.Text.Json parses it but throws when the text is read, so it is checked once, up front.
    /// </summary>
    public static void EnsureValidText(JsonElement element, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                Text(element, path.Length == 0 ? "body" : path);
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in element.EnumerateArray()) EnsureValidText(item, $"{path}[{i++}]");
                break;
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = member.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw new ApiException(400, $"A member name in '{(path.Length == 0 ? "body" : path)}' is not valid Unicode text (it contains an unpaired UTF-16 surrogate escape).",
                            path.Length == 0 ? null : path, "invalid_value", "invalid_request_error");
                    }
                    EnsureValidText(member.Value, path.Length == 0 ? name : $"{path}.{name}");
                }
                break;
        }
    }

    public static ApiException TypeError(string name, string expected) =>
        new(400, $"'{name}' must be {expected}.", name, "invalid_type", "invalid_request_error");

    private static string Range(int min, int max) =>
        (min, max) is (int.MinValue, int.MaxValue) ? "a 32-bit integer" : max == int.MaxValue ? $"at least {min}" : $"between {min} and {max}";
}
