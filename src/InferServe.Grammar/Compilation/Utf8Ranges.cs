namespace InferServe.Grammar.Compilation;

/// <summary>
/// Splits a code point range into UTF-8 byte-range sequences (the scheme RE2 and Rust's regex use): each
/// sequence has one byte range per position, and together they match exactly the range's encodings.
/// Surrogates are left out.
/// </summary>
internal static class Utf8Ranges
{
    public static void Split(int lo, int hi, List<(byte Lo, byte Hi)[]> output)
    {
        if (lo > hi) return;
        if (lo <= 0xDFFF && hi >= 0xD800)
        {
            Split(lo, 0xD7FF, output);
            Split(0xE000, hi, output);
            return;
        }
        foreach (int max in (int[])[0x7F, 0x7FF, 0xFFFF])
        {
            if (lo <= max && max < hi)
            {
                Split(lo, max, output);
                Split(max + 1, hi, output);
                return;
            }
        }

        if (hi <= 0x7F)
        {
            output.Add([((byte)lo, (byte)hi)]);
            return;
        }
        for (int i = 1; i < 4; i++)
        {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m))
            {
                if ((lo & m) != 0)
                {
                    Split(lo, lo | m, output);
                    Split((lo | m) + 1, hi, output);
                    return;
                }
                if ((hi & m) != m)
                {
                    Split(lo, (hi & ~m) - 1, output);
                    Split(hi & ~m, hi, output);
                    return;
                }
            }
        }
        Span<byte> a = stackalloc byte[4], b = stackalloc byte[4];
        int n = new System.Text.Rune(lo).EncodeToUtf8(a);
        new System.Text.Rune(hi).EncodeToUtf8(b);
        var seq = new (byte, byte)[n];
        for (int i = 0; i < n; i++) seq[i] = (a[i], b[i]);
        output.Add(seq);
    }
}
