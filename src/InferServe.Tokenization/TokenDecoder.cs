using System.Buffers;
using System.Text;

namespace InferServe.Tokenization;

/// <summary>How a leading space is removed when decoding.</summary>
internal enum LeadingSpaceRule
{
    None,

    /// <summary>Hugging Face Strip/Metaspace decoders: strip up to N leading spaces of the whole text.</summary>
    StripStartOfText,

    /// <summary>llama2.c: strip the leading space of any piece that follows BOS.</summary>
    StripAfterBos,
}

/// <summary>Running state of one decode: what came before decides whether a leading space is stripped.</summary>
internal struct DecodeState
{
    public int PrevId;
    public int StripRemaining;
}

/// <summary>
/// Decoding reduced to bytes: every decoder pipeline we support maps each token to a fixed byte string,
/// plus a leading-space rule. Concatenating and UTF-8 decoding them is the full decode, and a stateful
/// UTF-8 decoder over the same bytes gives streaming output that is identical by construction.
/// </summary>
internal sealed class TokenDecoder
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly byte[][] _pieces;
    private readonly bool[] _special;
    private readonly int _bosId;
    private readonly LeadingSpaceRule _rule;
    private readonly int _stripCount;

    public TokenDecoder(byte[][] pieces, bool[] special, int? bosId, LeadingSpaceRule rule, int stripCount)
    {
        _pieces = pieces;
        _special = special;
        _bosId = bosId ?? -1;
        _rule = rule;
        _stripCount = rule == LeadingSpaceRule.StripStartOfText ? stripCount : 0;
    }

    public ReadOnlySpan<byte> Piece(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : default;

    public DecodeState InitialState => new() { PrevId = -1, StripRemaining = _stripCount };

    /// <summary>The bytes token <paramref name="id"/> contributes, given what was decoded before it.</summary>
    public ReadOnlySpan<byte> NextPiece(int id, bool skipSpecial, ref DecodeState state)
    {
        if ((uint)id >= (uint)_pieces.Length)
        {
            return default; // e.g. a model whose embedding rows are padded past the tokenizer's vocabulary
        }

        bool afterBos = state.PrevId == _bosId && _bosId >= 0;
        state.PrevId = id;
        if (skipSpecial && _special[id])
        {
            return default;
        }

        ReadOnlySpan<byte> piece = _pieces[id];
        if (_rule == LeadingSpaceRule.StripAfterBos && afterBos && piece.Length > 0 && piece[0] == (byte)' ')
        {
            piece = piece[1..];
        }

        while (state.StripRemaining > 0 && piece.Length > 0)
        {
            if (piece[0] == (byte)' ')
            {
                piece = piece[1..];
                state.StripRemaining--;
            }
            else
            {
                state.StripRemaining = 0; // text started with something else: nothing left to strip
            }
        }

        return piece;
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial)
    {
        var state = InitialState;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, ids.Length * 4));
        try
        {
            int length = 0;
            foreach (int id in ids)
            {
                var piece = NextPiece(id, skipSpecial, ref state);
                if (length + piece.Length > buffer.Length)
                {
                    byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + piece.Length));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                piece.CopyTo(buffer.AsSpan(length));
                length += piece.Length;
            }

            return Utf8.GetString(buffer, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static Decoder CreateUtf8Decoder() => Utf8.GetDecoder();
}
