using System.Text;
using InferServe.ChatTemplates.Lexing;

namespace InferServe.ChatTemplates.Runtime;

/// <summary>Python-style methods on strings and dicts (message.content.strip(), tool.items(), ...).</summary>
internal static class Methods
{
    public static Value? ForString(Interpreter interp, StringValue s, string name)
    {
        string v = s.Value;
        return name switch
        {
            "length" => new IntValue(v.Length),
            "upper" => Fn(name, _ => new StringValue(v.ToUpperInvariant())),
            "lower" => Fn(name, _ => new StringValue(v.ToLowerInvariant())),
            "title" => Fn(name, _ => new StringValue(Title(v))),
            "capitalize" => Fn(name, _ => new StringValue(Capitalize(v))),
            "strip" => Fn(name, a => new StringValue(Strip(v, Chars(a), true, true))),
            "lstrip" => Fn(name, a => new StringValue(Strip(v, Chars(a), true, false))),
            "rstrip" => Fn(name, a => new StringValue(Strip(v, Chars(a), false, true))),
            "startswith" => Fn(name, a => BoolValue.Of(AffixMatch(v, a, (x, p) => x.StartsWith(p, StringComparison.Ordinal), name))),
            "endswith" => Fn(name, a => BoolValue.Of(AffixMatch(v, a, (x, p) => x.EndsWith(p, StringComparison.Ordinal), name))),
            "split" => Fn(name, a => Split(v, a)),
            "replace" => Fn(name, a => interp.Str(Replace(v, a, interp.Budget))),
            _ => null,
        };
    }

    public static Value? ForObject(ObjectValue o, string name) => name switch
    {
        "get" => Fn(name, a =>
        {
            if (a.Get(0, "key") is not StringValue key) throw new ArgumentException("dict.get() key must be a string");
            return o.Entries.TryGetValue(key.Value, out var v) ? v : a.Get(1, "default") ?? NullValue.Instance;
        }),
        "items" => Fn(name, _ => Items(o)),
        "keys" => Fn(name, _ => new ArrayValue(o.Entries.Keys.Select(k => (Value)new StringValue(k)).ToList())),
        "values" => Fn(name, _ => new ArrayValue(o.Entries.Values.ToList())),
        _ => null,
    };

    public static ArrayValue Items(ObjectValue o) =>
        new(o.Entries.Select(e => (Value)new ArrayValue([new StringValue(e.Key), e.Value], isTuple: true)).ToList());

    private static FunctionValue Fn(string name, Func<CallArgs, Value> body) => new(name, (args, _, _) => body(args));

    private static string? Chars(CallArgs a) => a.Get(0, "chars") switch
    {
        null or NullValue or UndefinedValue => null,
        StringValue s => s.Value,
        var other => throw new ArgumentException($"strip arg must be None or str, not {other.TypeName}"),
    };

    /// <summary>Without chars: JavaScript trim (the reference). With chars: Python semantics.</summary>
    public static string Strip(string v, string? chars, bool start, bool end)
    {
        if (chars is null)
            return start && end ? JsText.Trim(v) : start ? JsText.TrimStart(v) : JsText.TrimEnd(v);
        int s = 0, e = v.Length;
        if (start) while (s < e && chars.Contains(v[s])) s++;
        if (end) while (e > s && chars.Contains(v[e - 1])) e--;
        return v[s..e];
    }

    /// <summary>Like the reference (regex \b\w): uppercase each ASCII word's first letter, leave the rest.</summary>
    public static string Title(string v)
    {
        var sb = new StringBuilder(v);
        for (int i = 0; i < sb.Length; i++)
        {
            if (JsText.IsWord(sb[i]) && (i == 0 || !JsText.IsWord(sb[i - 1]))) sb[i] = char.ToUpperInvariant(sb[i]);
        }
        return sb.ToString();
    }

    public static string Capitalize(string v) => v.Length == 0 ? v : char.ToUpperInvariant(v[0]) + v[1..];

    private static bool AffixMatch(string v, CallArgs a, Func<string, string, bool> match, string name)
    {
        return a.Get(0, "prefix") switch
        {
            StringValue p => match(v, p.Value),
            ArrayValue arr => arr.Items.Any(x => x is StringValue p
                ? match(v, p.Value)
                : throw new ArgumentException($"{name}() tuple elements must be strings")),
            _ => throw new ArgumentException($"{name}() argument must be a string or tuple of strings"),
        };
    }

    private static Value Split(string v, CallArgs a)
    {
        var sep = a.Get(0, "sep");
        long maxsplit = a.Get(1, "maxsplit") switch
        {
            null => -1,
            IntValue i => i.Value,
            _ => throw new ArgumentException("maxsplit argument must be a number"),
        };
        var result = new List<string>();
        if (sep is null or NullValue)
        {
            // Python: split on runs of whitespace, ignoring leading/trailing whitespace.
            string text = JsText.TrimStart(v);
            int i = 0;
            while (i < text.Length)
            {
                if (maxsplit != -1 && result.Count >= maxsplit)
                {
                    result.Add(text[i..]);
                    break;
                }
                int start = i;
                while (i < text.Length && !JsText.IsWhitespace(text[i])) i++;
                result.Add(text[start..i]);
                while (i < text.Length && JsText.IsWhitespace(text[i])) i++;
            }
        }
        else if (sep is StringValue s)
        {
            if (s.Value.Length == 0) throw new ArgumentException("empty separator");
            result.AddRange(maxsplit == -1
                ? v.Split(s.Value)
                : v.Split(s.Value, (int)Math.Min(maxsplit + 1, int.MaxValue)));
        }
        else
        {
            throw new ArgumentException("sep argument must be a string or none");
        }

        return new ArrayValue(result.Select(x => (Value)new StringValue(x)).ToList());
    }

    public static string Replace(string v, CallArgs a, RenderBudget budget)
    {
        if (a.Get(0, "old") is not StringValue oldValue || a.Get(1, "new") is not StringValue newValue)
            throw new ArgumentException("replace() arguments must be strings");
        long count = a.Get(2, "count") switch
        {
            null or NullValue => -1,
            IntValue i => i.Value,
            _ => throw new ArgumentException("replace() count argument must be a number or none"),
        };
        if (count == 0) return v;
        long remaining = count < 0 ? long.MaxValue : count;
        var sb = new StringBuilder();
        if (oldValue.Value.Length == 0)
        {
            // Python inserts the replacement between every character (and at both ends).
            for (int i = 0; i <= v.Length; i++)
            {
                budget.CheckLength(sb.Length + (long)newValue.Value.Length + 1);
                if (remaining-- > 0) sb.Append(newValue.Value);
                if (i < v.Length) sb.Append(v[i]);
            }
            return sb.ToString();
        }
        int pos = 0;
        while (remaining > 0)
        {
            int idx = v.IndexOf(oldValue.Value, pos, StringComparison.Ordinal);
            if (idx < 0) break;
            budget.CheckLength(sb.Length + (long)(idx - pos) + newValue.Value.Length);
            sb.Append(v, pos, idx - pos).Append(newValue.Value);
            pos = idx + oldValue.Value.Length;
            remaining--;
        }
        sb.Append(v, pos, v.Length - pos);
        return sb.ToString();
    }
}
