namespace InferServe.Server.Tools;

/// <summary>Finds where a JSON object or array that starts at a given index ends, without parsing it (strings and escapes respected).</summary>
internal static class JsonExtent
{
    /// <summary>The index just past the value opened at <paramref name="start"/> ('{' or '['), or -1 when the text ends first.</summary>
    public static int End(string s, int start)
    {
        int depth = 0;
        bool inString = false, escaped = false;
        for (int i = start; i < s.Length; i++)
        {
            char c = s[i];
            if (inString)
            {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
                continue;
            }
            switch (c)
            {
                case '"': inString = true; break;
                case '{' or '[': depth++; break;
                case '}' or ']':
                    if (--depth == 0) return i + 1;
                    break;
            }
        }
        return -1;
    }
}
