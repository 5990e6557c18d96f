using System.Text;

namespace InferServe.Tokenization.Unicode;

/// <summary>
/// Managed NFC/NFD/NFKC/NFKD (UAX #15). InferServe runs with InvariantGlobalization, where
/// string.Normalize does nothing, yet tokenizers such as Qwen's declare an NFC normalizer.
/// </summary>
internal static class UnicodeNormalization
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Dictionary<int, byte>> Ccc = new(() =>
    {
        var map = new Dictionary<int, byte>();
        var data = UnicodeTables.CombiningClasses;
        for (int i = 0; i < data.Length; i += 2)
        {
            map[data[i]] = (byte)data[i + 1];
        }

        return map;
    });

    private static readonly Lazy<Dictionary<int, int[]>> Canonical = new(() => FullDecompositions(compatibility: false));
    private static readonly Lazy<Dictionary<int, int[]>> Compatibility = new(() => FullDecompositions(compatibility: true));

    private static readonly Lazy<Dictionary<long, int>> Composites = new(() =>
    {
        var map = new Dictionary<long, int>();
        var data = UnicodeTables.Compositions;
        for (int i = 0; i < data.Length; i += 3)
        {
            map[Pair(data[i], data[i + 1])] = data[i + 2];
        }

        return map;
    });

    public static string Normalize(string text, NormalizationForm form)
    {
        bool compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        // Below U+00A0 nothing decomposes or combines; below U+0300 nothing composes either (NFC only).
        char limit = compose && form == NormalizationForm.FormC ? '\u0300' : '\u00A0';
        if (!text.AsSpan().ContainsAnyExceptInRange('\0', (char)(limit - 1)))
        {
            return text;
        }

        var codePoints = Decompose(text, form is NormalizationForm.FormKC or NormalizationForm.FormKD);
        if (compose)
        {
            Compose(codePoints);
        }

        var sb = new StringBuilder(text.Length);
        foreach (int cp in codePoints)
        {
            if (cp < 0x10000)
            {
                sb.Append((char)cp);
            }
            else
            {
                sb.Append(char.ConvertFromUtf32(cp));
            }
        }

        return sb.ToString();
    }

    private static int CombiningClass(int cp) => Ccc.Value.TryGetValue(cp, out byte c) ? c : 0;

    private static long Pair(int a, int b) => ((long)a << 21) | (uint)b;

    private static List<int> Decompose(string text, bool compatibility)
    {
        var table = compatibility ? Compatibility.Value : Canonical.Value;
        var result = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                cp = char.ConvertToUtf32(text[i], text[++i]);
            }

            if (cp is >= SBase and < SBase + SCount)
            {
                int s = cp - SBase;
                result.Add(LBase + s / NCount);
                result.Add(VBase + s % NCount / TCount);
                if (s % TCount != 0)
                {
                    result.Add(TBase + s % TCount);
                }
            }
            else if (table.TryGetValue(cp, out var seq))
            {
                result.AddRange(seq);
            }
            else
            {
                result.Add(cp);
            }
        }

        // Canonical ordering: stable-sort each run of non-starters by combining class.
        for (int i = 1; i < result.Count; i++)
        {
            int c = CombiningClass(result[i]);
            if (c == 0)
            {
                continue;
            }

            for (int j = i; j > 0 && CombiningClass(result[j - 1]) > c; j--)
            {
                (result[j - 1], result[j]) = (result[j], result[j - 1]);
            }
        }

        return result;
    }

    /// <summary>Canonical composition, following the UAX #15 sample algorithm.</summary>
    private static void Compose(List<int> cps)
    {
        if (cps.Count == 0)
        {
            return;
        }

        int starterPos = 0;
        int starter = cps[0];
        int lastClass = CombiningClass(starter) == 0 ? 0 : 256; // a leading non-starter blocks everything
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            int ch = cps[read];
            int chClass = CombiningClass(ch);
            if ((lastClass < chClass || lastClass == 0) && TryCompose(starter, ch, out int composite))
            {
                cps[starterPos] = starter = composite;
                continue;
            }

            if (chClass == 0)
            {
                starterPos = write;
                starter = ch;
            }

            lastClass = chClass;
            cps[write++] = ch;
        }

        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int a, int b, out int composite)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
            return true;
        }

        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
        {
            composite = a + (b - TBase);
            return true;
        }

        return Composites.Value.TryGetValue(Pair(a, b), out composite);
    }

    /// <summary>Single-step table entries expanded recursively; compatibility includes canonical ones.</summary>
    private static Dictionary<int, int[]> FullDecompositions(bool compatibility)
    {
        var single = new Dictionary<int, int[]>();
        void Read(ReadOnlySpan<int> data)
        {
            for (int i = 0; i < data.Length;)
            {
                int cp = data[i], length = data[i + 1];
                single[cp] = data.Slice(i + 2, length).ToArray();
                i += 2 + length;
            }
        }

        Read(UnicodeTables.CanonicalDecompositions);
        if (compatibility)
        {
            Read(UnicodeTables.CompatibilityDecompositions);
        }

        var full = new Dictionary<int, int[]>(single.Count);
        List<int> Expand(int cp, List<int> output)
        {
            if (cp is >= SBase and < SBase + SCount)
            {
                int s = cp - SBase;
                output.Add(LBase + s / NCount);
                output.Add(VBase + s % NCount / TCount);
                if (s % TCount != 0)
                {
                    output.Add(TBase + s % TCount);
                }
            }
            else if (single.TryGetValue(cp, out var seq))
            {
                foreach (int c in seq)
                {
                    Expand(c, output);
                }
            }
            else
            {
                output.Add(cp);
            }

            return output;
        }

        foreach (int cp in single.Keys)
        {
            full[cp] = [.. Expand(cp, [])];
        }

        return full;
    }
}
