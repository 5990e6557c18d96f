using System.Globalization;
using System.Text.RegularExpressions;

namespace InferServe.Tokenization.HuggingFace;

/// <summary>
/// A regex that sees code points, like the Oniguruma/JS engines tokenizer patterns were written for.
/// .NET regexes see UTF-16 units, so an astral char (emoji, CJK Ext-B, math letters) would be two Cs units:
/// "\p{L}" would miss it and "[^\p{L}]?" could split it in half. Before matching, each surrogate pair is
/// replaced by one BMP stand-in of the same Unicode category, and match positions are mapped back.
/// </summary>
internal sealed class CodePointRegex
{
    private readonly Regex _regex;

    public CodePointRegex(Regex regex) => _regex = regex;

    /// <summary>Appends (start, length) of each non-empty match in <paramref name="text"/>.</summary>
    public void FindMatches(string text, List<(int Start, int Length)> matches)
    {
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (var m in _regex.EnumerateMatches(text))
            {
                if (m.Length > 0)
                {
                    matches.Add((m.Index, m.Length));
                }
            }

            return;
        }

        var substitute = new char[text.Length];
        var originalIndex = new int[text.Length + 1];
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            originalIndex[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                substitute[n++] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                i++;
            }
            else
            {
                substitute[n++] = text[i];
            }
        }

        originalIndex[n] = text.Length;
        foreach (var m in _regex.EnumerateMatches(substitute.AsSpan(0, n)))
        {
            if (m.Length > 0)
            {
                int start = originalIndex[m.Index];
                matches.Add((start, originalIndex[m.Index + m.Length] - start));
            }
        }
    }

    /// <summary>A non-ASCII, non-space BMP char of the given category (no astral char is whitespace or a control).</summary>
    private static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u00C0',
        UnicodeCategory.LowercaseLetter => '\u00E0',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00A1',
        UnicodeCategory.MathSymbol => '\u00AC',
        UnicodeCategory.CurrencySymbol => '\u00A2',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.OtherSymbol => '\u00A6',
        UnicodeCategory.Format => '\u00AD',
        UnicodeCategory.PrivateUse => '\uE000',
        _ => '\u0378', // unassigned
    };
}
