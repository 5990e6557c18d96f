using System.Text;

namespace InferServe.ChatTemplates.Runtime;

internal sealed record JsonOptions(
    int? Indent = null,
    bool EnsureAscii = false,
    bool SortKeys = false,
    (string Item, string Key)? Separators = null,
    bool UndefinedAsNull = true)
{
    /// <summary>How lists and dicts print in {{ }} (the reference uses JSON with undefined kept as "undefined").</summary>
    public static readonly JsonOptions Display = new(UndefinedAsNull: false);
    public static readonly JsonOptions Default = new();
}

/// <summary>
/// tojson as the reference does it: Python json.dumps separators (", " and ": "; "," with indent),
/// JavaScript JSON.stringify string escaping (non-ASCII kept unless ensure_ascii), numbers in JS form.
/// </summary>
internal static class Json
{
    private const int MaxDepth = 256;

    /// <summary>
    /// Serializes within the render's output limit (or the default limit without a budget): a namespace that contains
    /// itself, or a list holding the same long string many times, fails with LimitExceeded instead of exhausting memory.
    /// </summary>
    public static string Serialize(Value value, JsonOptions options, RenderBudget? budget = null)
    {
        var sb = new StringBuilder();
        Write(sb, value, options, 0, budget);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, Value value, JsonOptions o, int depth, RenderBudget? budget)
    {
        if (depth > MaxDepth)
            throw new ChatTemplateException(ChatTemplateErrorKind.LimitExceeded, $"tojson: value nested deeper than {MaxDepth} (cyclic?)");
        int max = budget?.MaxOutputChars ?? ChatTemplateOptions.Default.MaxOutputChars;
        if (sb.Length > max)
            throw new ChatTemplateException(ChatTemplateErrorKind.LimitExceeded, $"Template output exceeded {max} characters");
        budget?.Tick();
        string item = o.Separators?.Item ?? (o.Indent is > 0 ? "," : ", ");
        string key = o.Separators?.Key ?? ": ";
        switch (value)
        {
            case NullValue: sb.Append("null"); break;
            case UndefinedValue: sb.Append(o.UndefinedAsNull ? "null" : "undefined"); break;
            case BoolValue b: sb.Append(b.Value ? "true" : "false"); break;
            case IntValue i: sb.Append(JsNumber.Format(i.Value)); break;
            case FloatValue f: sb.Append(double.IsFinite(f.Value) ? JsNumber.Format(f.Value) : "null"); break;
            case StringValue s: WriteString(sb, s.Value, o.EnsureAscii); break;
            case ArrayValue a:
                {
                    if (a.Items.Count == 0) { sb.Append("[]"); break; }
                    sb.Append('[');
                    for (int i = 0; i < a.Items.Count; i++)
                    {
                        if (i > 0) sb.Append(item);
                        NewLine(sb, o, depth + 1);
                        Write(sb, a.Items[i], o, depth + 1, budget);
                    }
                    NewLine(sb, o, depth);
                    sb.Append(']');
                    break;
                }
            case ObjectValue or NamespaceValue:
                {
                    var entries = value is ObjectValue ov ? ov.Entries : ((NamespaceValue)value).Entries;
                    if (entries.Count == 0) { sb.Append("{}"); break; }
                    IEnumerable<KeyValuePair<string, Value>> ordered = entries;
                    if (o.SortKeys) ordered = entries.OrderBy(e => e.Key, StringComparer.Ordinal);
                    sb.Append('{');
                    bool first = true;
                    foreach (var (k, v) in ordered)
                    {
                        if (!first) sb.Append(item);
                        first = false;
                        NewLine(sb, o, depth + 1);
                        WriteString(sb, k, o.EnsureAscii);
                        sb.Append(key);
                        Write(sb, v, o, depth + 1, budget);
                    }
                    NewLine(sb, o, depth);
                    sb.Append('}');
                    break;
                }
            default:
                throw new ChatTemplateException($"Cannot convert {value.TypeName} to JSON");
        }
    }

    private static void NewLine(StringBuilder sb, JsonOptions o, int depth)
    {
        if (o.Indent is not > 0) return;
        sb.Append('\n').Append(' ', o.Indent.Value * depth);
    }

    /// <summary>JSON.stringify string escaping (lone surrogates as \uXXXX), optional ASCII-only output.</summary>
    public static void WriteString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); continue;
                case '\\': sb.Append("\\\\"); continue;
                case '\b': sb.Append("\\b"); continue;
                case '\f': sb.Append("\\f"); continue;
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
            }
            if (c < 0x20) { AppendU(sb, c); continue; }
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                if (ensureAscii) { AppendU(sb, c); AppendU(sb, s[i + 1]); }
                else
                {
                    sb.Append(c).Append(s[i + 1]);
                }

                i++;
                continue;
            }
            if (char.IsSurrogate(c)) { AppendU(sb, c); continue; }
            if (ensureAscii && c >= 0x7f) { AppendU(sb, c); continue; }
            sb.Append(c);
        }
        sb.Append('"');
    }

    private static void AppendU(StringBuilder sb, char c) => sb.Append("\\u").Append(((int)c).ToString("x4"));
}
