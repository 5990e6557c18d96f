namespace InferServe.ChatTemplates.Lexing;

/// <summary>
/// Character classes as the reference implementation (@huggingface/jinja, JavaScript) defines them,
/// so whitespace control and trim agree byte-for-byte with it.
/// </summary>
internal static class JsText
{
    /// <summary>JavaScript's \s and String.prototype.trim set.</summary>
    public static bool IsWhitespace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029'
            or '\u202f' or '\u205f' or '\u3000' or '\ufeff' => true,
        >= '\u2000' and <= '\u200a' => true,
        _ => false,
    };

    /// <summary>JavaScript's \w: ASCII letters, digits and underscore.</summary>
    public static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    public static string Trim(string s) => TrimEnd(TrimStart(s));

    public static string TrimStart(string s)
    {
        int i = 0;
        while (i < s.Length && IsWhitespace(s[i])) i++;
        return i == 0 ? s : s[i..];
    }

    public static string TrimEnd(string s)
    {
        int n = s.Length;
        while (n > 0 && IsWhitespace(s[n - 1])) n--;
        return n == s.Length ? s : s[..n];
    }
}
