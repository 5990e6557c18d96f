namespace InferServe.ChatTemplates.Lexing;

/// <summary>
/// Applies the Hugging Face environment settings before lexing, as the reference does:
/// drop one trailing newline, lstrip_blocks (blanks before a block/comment tag at line start)
/// and trim_blocks (the newline right after a block/comment tag).
/// Keeps a map from each kept character to its index in the original source for error positions.
/// </summary>
internal static class Preprocessor
{
    public static (string Text, int[] SourceIndex) Run(string source)
    {
        var keep = new bool[source.Length];
        Array.Fill(keep, true);
        int end = source.Length;
        if (end > 0 && source[end - 1] == '\n')
        {
            keep[--end] = false;
        }

        // lstrip_blocks: /^[ \t]*({[#%-])/gm — ^ matches at start and after any JS line terminator.
        for (int lineStart = 0; lineStart < end;)
        {
            int i = lineStart;
            while (i < end && (source[i] == ' ' || source[i] == '\t')) i++;
            if (i > lineStart && i + 1 < end && source[i] == '{' && source[i + 1] is '#' or '%' or '-')
            {
                for (int k = lineStart; k < i; k++) keep[k] = false;
            }
            int next = source.IndexOfAny(LineTerminators, i);
            if (next < 0 || next >= end) break;
            lineStart = next + 1;
        }

        // trim_blocks: /([#%-]})\n/g
        for (int i = 1; i + 1 < end; i++)
        {
            if (source[i] == '}' && source[i - 1] is '#' or '%' or '-' && source[i + 1] == '\n')
            {
                keep[i + 1] = false;
            }
        }

        var text = new System.Text.StringBuilder(end);
        var map = new List<int>(end + 1);
        for (int i = 0; i < end; i++)
        {
            if (!keep[i]) continue;
            text.Append(source[i]);
            map.Add(i);
        }
        map.Add(end);
        return (text.ToString(), map.ToArray());
    }

    private static readonly char[] LineTerminators = ['\n', '\r', '\u2028', '\u2029'];
}
