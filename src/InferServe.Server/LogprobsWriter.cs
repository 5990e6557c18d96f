using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using InferServe.Contracts;
using InferServe.Tokenization;

namespace InferServe.Server;

/// <summary>Writes token logprobs in OpenAI's two shapes: chat ("content" entries) and legacy completions (parallel arrays).</summary>
internal sealed class LogprobsWriter(ITokenizer tokenizer, int? topLogprobs)
{
    private readonly string?[] _texts = TokenTexts.For(tokenizer);
    // Completions key alternatives by text; reused across tokens.
    private HashSet<string>? _seen;

    // JSON has no -Infinity; OpenAI clamps to -9999.
    private static float Clamp(float logprob) => Math.Max(logprob, -9999f);

    /// <summary>Chat: "logprobs": {"content": [...], "refusal": null}, or null when the request asked for none.</summary>
    public void WriteChat(Utf8JsonWriter w, IReadOnlyList<TokenLogprob> logprobs)
    {
        if (topLogprobs is not { } top)
        {
            w.WriteNull("logprobs");
            return;
        }
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        for (int i = 0; i < logprobs.Count; i++)
        {
            var lp = logprobs[i];
            w.WriteStartObject();
            WriteToken(w, lp.TokenId, lp.Logprob);
            w.WriteStartArray("top_logprobs");
            for (int j = 0, n = Math.Min(top, lp.Top.Count); j < n; j++)
            {
                var alt = lp.Top[j];
                w.WriteStartObject();
                WriteToken(w, alt.TokenId, alt.Logprob);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("refusal");
        w.WriteEndObject();
    }

    /// <summary>Completions: tokens, token_logprobs, top_logprobs and text_offset (advancing the choice's offset), or null without logprobs.</summary>
    public void WriteCompletion(Utf8JsonWriter w, GenerationChoice choice, IReadOnlyList<TokenLogprob>? logprobs)
    {
        if (logprobs is null)
        {
            w.WriteNull("logprobs");
            return;
        }
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        for (int i = 0; i < logprobs.Count; i++) w.WriteStringValue(TokenText(logprobs[i].TokenId));
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        // NaN: the prompt's first token, which nothing predicts (OpenAI writes null there).
        for (int i = 0; i < logprobs.Count; i++)
        {
            if (float.IsNaN(logprobs[i].Logprob)) w.WriteNullValue();
            else w.WriteNumberValue(Clamp(logprobs[i].Logprob));
        }
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        var seen = _seen ??= new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < logprobs.Count; i++)
        {
            if (float.IsNaN(logprobs[i].Logprob))
            {
                w.WriteNullValue();
                continue;
            }
            w.WriteStartObject();
            // Alternatives are keyed by their text: of two ids that decode alike, the first listed is kept.
            seen.Clear();
            var top = logprobs[i].Top;
            for (int j = 0; j < top.Count; j++)
            {
                var t = TokenText(top[j].TokenId);
                if (seen.Add(t)) w.WriteNumber(t, Clamp(top[j].Logprob));
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        for (int i = 0; i < logprobs.Count; i++)
        {
            w.WriteNumberValue(choice.TextOffset);
            choice.TextOffset += TokenText(logprobs[i].TokenId).Length;
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteToken(Utf8JsonWriter w, int tokenId, float logprob)
    {
        var token = TokenText(tokenId);
        w.WriteString("token", token);
        w.WriteNumber("logprob", Clamp(logprob));
        w.WriteStartArray("bytes");
        int max = Encoding.UTF8.GetMaxByteCount(token.Length);
        Span<byte> bytes = max <= 256 ? stackalloc byte[256] : new byte[max];
        int count = Encoding.UTF8.GetBytes(token, bytes);
        foreach (var b in bytes[..count]) w.WriteNumberValue(b);
        w.WriteEndArray();
    }

    private string TokenText(int id) =>
        (uint)id < (uint)_texts.Length ? _texts[id] ??= Decode(id) : Decode(id);

    private string Decode(int id) => tokenizer.Decode([id], skipSpecialTokens: false);
}

/// <summary>
/// Each token's text as a lone decode, cached per tokenizer for the process: logprobs name every alternative of every
/// token, and decoding each would allocate per alternative. Racing writers store equal strings.
/// </summary>
internal static class TokenTexts
{
    private static readonly ConditionalWeakTable<ITokenizer, string?[]> Cache = new();

    public static string?[] For(ITokenizer tokenizer) => Cache.GetValue(tokenizer, t => new string?[t.VocabSize]);
}
