using System.Text;

namespace InferServe.Tokenization;

/// <summary>
/// Streaming detokenizer for one sequence: push generated ids one at a time and get back only newly
/// completed text. Bytes of a character split across tokens (byte-fallback or byte-level pieces) are held
/// until the character is complete, so half a UTF-8 character is never emitted.
/// Concatenating every <see cref="Push"/> result and <see cref="Flush"/> equals <see cref="ITokenizer.Decode"/> of all ids.
/// Not thread-safe: one instance per sequence.
/// </summary>
public sealed class IncrementalDecoder
{
    private readonly TokenDecoder _tokens;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _utf8 = TokenDecoder.CreateUtf8Decoder();
    private DecodeState _state;
    private char[] _chars = new char[64];

    internal IncrementalDecoder(TokenDecoder tokens, bool skipSpecialTokens)
    {
        _tokens = tokens;
        _skipSpecialTokens = skipSpecialTokens;
        _state = tokens.InitialState;
    }

    /// <summary>Adds one token; returns the text it completes (often empty while a character is pending).</summary>
    public string Push(int tokenId)
    {
        var bytes = _tokens.NextPiece(tokenId, _skipSpecialTokens, ref _state);
        return bytes.IsEmpty ? string.Empty : Convert(bytes, flush: false);
    }

    /// <summary>
    /// Advances past context (the prompt) without emitting it, so the first generated token is decoded
    /// as a continuation: its leading space is kept where a fresh decode would strip it.
    /// </summary>
    public void Prime(ReadOnlySpan<int> context)
    {
        foreach (var id in context) _tokens.NextPiece(id, _skipSpecialTokens, ref _state);
    }

    /// <summary>Ends the sequence: bytes of an unfinished character come out as U+FFFD, as in a full decode.</summary>
    public string Flush() => Convert(default, flush: true);

    /// <summary>Forgets everything so the instance can decode a new sequence.</summary>
    public void Reset()
    {
        _utf8.Reset();
        _state = _tokens.InitialState;
    }

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        // At most one char per byte, plus replacement chars for up to 3 held-back bytes.
        int needed = bytes.Length + 4;
        if (_chars.Length < needed)
        {
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        }

        int count = _utf8.GetChars(bytes, _chars, flush);
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }
}
