using System.Text;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>
/// Translates the Oniguruma/PCRE-style split patterns found in tokenizer.json into .NET regex syntax.
/// .NET lacks possessive quantifiers (X?+, X*+, X++, X{n,m}+); they are rewritten as atomic groups
/// (?>X?), which match identically. \x{HHHH} becomes \uHHHH. Everything else (\p{L}, (?i:...),
/// lookaheads, classes) already means the same in .NET.
/// </summary>
internal static class PatternTranslator
{
    public static string ToDotNet(string pattern)
    {
        var output = new StringBuilder(pattern.Length + 16);
        var groupStarts = new Stack<int>();
        int lastAtomStart = -1;
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            switch (c)
            {
                case '\\':
                    lastAtomStart = output.Length;
                    i = CopyEscape(pattern, i, output);
                    break;
                case '[':
                    lastAtomStart = output.Length;
                    i = CopyClass(pattern, i, output);
                    break;
                case '(':
                    groupStarts.Push(output.Length);
                    output.Append(c);
                    i++;
                    lastAtomStart = -1;
                    break;
                case ')':
                    output.Append(c);
                    i++;
                    lastAtomStart = groupStarts.Count > 0 ? groupStarts.Pop() : -1;
                    break;
                case '?' or '*' or '+' or '{' when lastAtomStart >= 0 && IsQuantifierAt(pattern, i):
                    i = CopyQuantifier(pattern, i, output, lastAtomStart);
                    lastAtomStart = -1;
                    break;
                case '|':
                    output.Append(c);
                    i++;
                    lastAtomStart = -1;
                    break;
                default:
                    lastAtomStart = output.Length;
                    output.Append(c);
                    i++;
                    break;
            }
        }

        return output.ToString();
    }

    private static bool IsQuantifierAt(string p, int i)
    {
        if (p[i] != '{')
        {
            return true;
        }

        // "{n}", "{n,}", "{n,m}" are quantifiers; any other '{' is a literal.
        int j = i + 1;
        int digits = 0;
        while (j < p.Length && (char.IsAsciiDigit(p[j]) || p[j] == ','))
        {
            digits++;
            j++;
        }

        return digits > 0 && j < p.Length && p[j] == '}';
    }

    private static int CopyQuantifier(string p, int i, StringBuilder output, int atomStart)
    {
        int start = i;
        i = p[i] == '{' ? p.IndexOf('}', i) + 1 : i + 1;
        string quantifier = p[start..i];
        if (i < p.Length && p[i] == '+')
        {
            output.Insert(atomStart, "(?>").Append(quantifier).Append(')'); // possessive => atomic group
            return i + 1;
        }

        output.Append(quantifier);
        if (i < p.Length && p[i] == '?')
        {
            output.Append('?'); // lazy: same syntax in .NET
            i++;
        }

        return i;
    }

    private static int CopyEscape(string p, int i, StringBuilder output)
    {
        if (i + 1 >= p.Length)
        {
            throw new FormatException("pattern ends with a lone backslash");
        }

        char kind = p[i + 1];
        if ((kind is 'p' or 'P') && i + 2 < p.Length && p[i + 2] == '{')
        {
            int end = p.IndexOf('}', i);
            output.Append(p, i, end - i + 1);
            return end + 1;
        }

        if (kind == 'x' && i + 2 < p.Length && p[i + 2] == '{')
        {
            int end = p.IndexOf('}', i);
            int codePoint = Convert.ToInt32(p[(i + 3)..end], 16);
            foreach (char unit in char.ConvertFromUtf32(codePoint))
            {
                output.Append($"\\u{(int)unit:X4}");
            }

            return end + 1;
        }

        output.Append(p, i, 2);
        return i + 2;
    }

    private static int CopyClass(string p, int i, StringBuilder output)
    {
        int start = i;
        int depth = 0;
        while (i < p.Length)
        {
            char c = p[i];
            if (c == '\\')
            {
                i += 2;
                continue;
            }

            if (c == '[')
            {
                depth++;
                i++;
                // A ']' right after '[' or '[^' is a literal member.
                if (i < p.Length && p[i] == '^')
                {
                    i++;
                }

                if (i < p.Length && p[i] == ']')
                {
                    i++;
                }

                continue;
            }

            i++;
            if (c == ']' && --depth == 0)
            {
                break;
            }
        }

        if (depth != 0)
        {
            throw new FormatException("unterminated character class in pattern");
        }

        output.Append(p, start, i - start);
        return i;
    }
}
