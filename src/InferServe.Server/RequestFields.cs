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
        return v.GetString();
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

    public static ApiException TypeError(string name, string expected) =>
        new(400, $"'{name}' must be {expected}.", name, "invalid_type", "invalid_request_error");

    private static string Range(int min, int max) =>
        (min, max) is (int.MinValue, int.MaxValue) ? "a 32-bit integer" : max == int.MaxValue ? $"at least {min}" : $"between {min} and {max}";
}
