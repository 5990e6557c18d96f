using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InferServe.TestSupport.Fuzzing;

/// <summary>
/// Structure-aware JSON mutations: values replaced by values of other types (boundary and huge numbers, unicode,
/// lone surrogates, long strings, deep nesting), members removed, added (from the format's own field names),
/// duplicated or wrapped; then, sometimes, a text-level mutation (truncation, stray bytes, raw number literals).
/// </summary>
public sealed class JsonMutator(IReadOnlyList<string> fieldNames)
{
    private const string RawMarker = "\u0001raw:";

    private static readonly string[] RawNumbers =
        ["1e999", "-1e999", "1e-999", "123456789012345678901234567890", "-0", "0.0", "1E400", "9223372036854775808",
         "-9223372036854775809", "2147483648", "-2147483649", "4294967296", "1.0000000000000000000001", "1e5", "3.4e38", "0e0"];

    private static readonly string[] Strings =
        ["", " ", "a", "Hi", "0", "1", "-1", "1.5", "true", "null", "NaN", "Infinity", "\0", "\u0000\u0001\u001f", "\n\r\t",
         "é", "日本語", "🙂", "👩‍👩‍👧‍👦", "\u202e\u200f", "\uFEFF", "\uFFFF", "\uD800", "\uDC00", "\uDBFF\uDFFF", "a\uD800b",
         "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "</s>", "<s>", "{{ x }}", "{% for %}", "%s%n", "\\", "\"",
         "system", "user", "assistant", "tool", "developer", "text", "image_url", "tiny-test", "stories260K"];

    public IReadOnlyList<string> FieldNames { get; } = fieldNames;

    /// <summary>Mutated JSON text of <paramref name="seed"/> (not necessarily valid JSON).</summary>
    public string Mutate(Random r, JsonNode seed, int maxMutations = 3)
    {
        JsonNode? root = seed.DeepClone();
        int n = 1 + r.Next(maxMutations);
        for (int i = 0; i < n; i++) root = MutateOnce(r, root);
        var text = Serialize(root);
        if (r.Next(8) == 0) text = MutateText(r, text);
        return text;
    }

    private JsonNode? MutateOnce(Random r, JsonNode? root)
    {
        if (root is null || r.Next(40) == 0) return RandomValue(r, 0);
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[r.Next(nodes.Count)];
        switch (r.Next(7))
        {
            case 0 or 1: // replace this value
                return Replace(root, target, RandomValue(r, 0));
            case 2 when target is JsonObject o && o.Count > 0: // remove a member
                o.Remove(o.ElementAt(r.Next(o.Count)).Key);
                return root;
            case 3 when target is JsonObject o: // add a member
                o[Pick(r)] = RandomValue(r, 0);
                return root;
            case 4 when target is JsonArray a && a.Count > 0: // duplicate or remove elements
                if (r.Next(2) == 0)
                {
                    a.RemoveAt(r.Next(a.Count));
                }
                else
                {
                    int copies = r.Next(4) == 0 ? r.Next(50, 200) : r.Next(1, 4);
                    var item = a[r.Next(a.Count)];
                    for (int c = 0; c < copies; c++) a.Add(item?.DeepClone());
                }
                return root;
            case 5: // wrap
                return Replace(root, target, r.Next(2) == 0 ? new JsonArray(target.DeepClone()) : new JsonObject { [Pick(r)] = target.DeepClone() });
            default: // swap the value for one of another member
                return Replace(root, target, nodes[r.Next(nodes.Count)].DeepClone());
        }
    }

    private string Pick(Random r) => r.Next(6) == 0 ? RandomString(r) : FieldNames[r.Next(FieldNames.Count)];

    /// <summary>A random JSON value; strings starting with <see cref="RawMarker"/> become raw number literals.</summary>
    public JsonNode? RandomValue(Random r, int depth)
    {
        switch (r.Next(depth > 3 ? 7 : 10))
        {
            case 0: return null;
            case 1: return JsonValue.Create(r.Next(2) == 0);
            case 2: return JsonValue.Create(ByteMutator.InterestingInt(r));
            case 3:
                double[] doubles = [0.5, -0.5, 1e-320, 1e308, -1e308, 2.0000001, 1.0, 0.0, 1e-7, 3.0e9];
                return JsonValue.Create(doubles[r.Next(doubles.Length)]);
            case 4: return JsonValue.Create(RawMarker + RawNumbers[r.Next(RawNumbers.Length)]);
            case 5 or 6: return JsonValue.Create(RandomString(r));
            case 7:
                {
                    var a = new JsonArray();
                    int count = r.Next(5);
                    for (int i = 0; i < count; i++) a.Add(RandomValue(r, depth + 1));
                    return a;
                }
            case 8:
                {
                    var o = new JsonObject();
                    int count = r.Next(4);
                    for (int i = 0; i < count; i++) o[Pick(r)] = RandomValue(r, depth + 1);
                    return o;
                }
            default:
                {
                    // Deep nesting: arrays or objects dozens of levels down (System.Text.Json's default limit is 64).
                    int levels = r.Next(10, 80);
                    JsonNode node = JsonValue.Create(1);
                    for (int i = 0; i < levels; i++) node = r.Next(2) == 0 ? new JsonArray(node) : new JsonObject { ["x"] = node };
                    return node;
                }
        }
    }

    public static string RandomString(Random r)
    {
        switch (r.Next(5))
        {
            case 0: return new string((char)r.Next(0x20, 0x7f), r.Next(1, 3) == 1 ? r.Next(200, 5000) : r.Next(1, 20));
            case 1:
                {
                    var sb = new StringBuilder();
                    int len = r.Next(1, 12);
                    for (int i = 0; i < len; i++) sb.Append((char)r.Next(0, 0x10000));
                    return sb.ToString();
                }
            default: return Strings[r.Next(Strings.Length)];
        }
    }

    private static string Serialize(JsonNode? root)
    {
        var text = root is null ? "null" : root.ToJsonString(new JsonSerializerOptions { MaxDepth = 512 });
        // Raw literals were stored as marked strings; the serializer escaped the marker as \u0001.
        const string escaped = "\"\\u0001raw:";
        int at;
        while ((at = text.IndexOf(escaped, StringComparison.Ordinal)) >= 0)
        {
            int end = text.IndexOf('"', at + escaped.Length);
            text = string.Concat(text.AsSpan(0, at), text.AsSpan(at + escaped.Length, end - at - escaped.Length), text.AsSpan(end + 1));
        }
        return text;
    }

    private static string MutateText(Random r, string text)
    {
        int pos = text.Length == 0 ? 0 : r.Next(text.Length);
        return r.Next(6) switch
        {
            0 => text[..pos], // truncated
            1 => text.Insert(pos, ((char)r.Next(0, 128)).ToString()),
            2 => text + (r.Next(2) == 0 ? " garbage" : "}"),
            3 => new string('[', r.Next(60, 300)) + text, // unbalanced deep nesting
            4 => text.Insert(pos, "\\ud800"),
            _ => text.Remove(pos, Math.Min(text.Length - pos, r.Next(1, 8))),
        };
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case JsonObject o: foreach (var (_, v) in o) if (v is not null) Collect(v, into); break;
            case JsonArray a: foreach (var v in a) if (v is not null) Collect(v, into); break;
        }
    }

    private static JsonNode? Replace(JsonNode root, JsonNode target, JsonNode? value)
    {
        if (ReferenceEquals(root, target)) return value;
        switch (target.Parent)
        {
            case JsonObject o: o[target.GetPropertyName()] = value; break;
            case JsonArray a: a[target.GetElementIndex()] = value; break;
        }
        return root;
    }
}
