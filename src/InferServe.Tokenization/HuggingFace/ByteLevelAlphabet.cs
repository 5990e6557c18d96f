namespace InferServe.Tokenization.HuggingFace;

/// <summary>
/// GPT-2's bytes_to_unicode: every byte maps to a printable char, so byte-level tokens are ordinary strings.
/// Printable Latin-1 bytes map to themselves; the rest map to U+0100 upwards ("Ġ" is the space byte).
/// </summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    public static bool TryGetByte(char c, out byte value) => CharToByte.TryGetValue(c, out value);

    /// <summary>Maps the UTF-8 bytes of <paramref name="text"/> to their byte-level chars.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        int byteCount = System.Text.Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        Span<char> chars = byteCount <= 512 ? stackalloc char[byteCount] : new char[byteCount];
        for (int i = 0; i < byteCount; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }

        return new string(chars);
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var assigned = new bool[256];
        foreach (var (from, to) in new[] { ('!', '~'), ('¡', '¬'), ('®', 'ÿ') })
        {
            for (int b = from; b <= to; b++)
            {
                map[b] = (char)b;
                assigned[b] = true;
            }
        }

        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            if (!assigned[b])
            {
                map[b] = (char)next++;
            }
        }

        return map;
    }
}
