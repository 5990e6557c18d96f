using System.Text;
using System.Text.Json;
using InferServe.Engine;
using InferServe.Tokenization;

namespace InferServe.Server;

/// <summary>Writes token logprobs in OpenAI's two shapes: chat ("content" entries) and legacy completions (parallel arrays).</summary>
internal sealed class LogprobsWriter(ITokenizer tokenizer, int? topLogprobs)
{
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
        foreach (var lp in logprobs)
        {
            w.WriteStartObject();
            WriteToken(w, lp.TokenId, lp.Logprob);
            w.WriteStartArray("top_logprobs");
            foreach (var alt in lp.Top.Take(top))
            {
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
        var tokens = logprobs.Select(lp => TokenText(lp.TokenId)).ToArray();
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var t in tokens) w.WriteStringValue(t);
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        // NaN: the prompt's first token, which nothing predicts (OpenAI writes null there).
        foreach (var lp in logprobs)
        {
            if (float.IsNaN(lp.Logprob)) w.WriteNullValue();
            else w.WriteNumberValue(Clamp(lp.Logprob));
        }
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var lp in logprobs)
        {
            if (float.IsNaN(lp.Logprob))
            {
                w.WriteNullValue();
                continue;
            }
            w.WriteStartObject();
            // Alternatives are keyed by their text: of two ids that decode alike, the first listed is kept.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var alt in lp.Top)
            {
                var t = TokenText(alt.TokenId);
                if (seen.Add(t)) w.WriteNumber(t, Clamp(alt.Logprob));
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        foreach (var t in tokens)
        {
            w.WriteNumberValue(choice.TextOffset);
            choice.TextOffset += t.Length;
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
        foreach (var b in Encoding.UTF8.GetBytes(token)) w.WriteNumberValue(b);
        w.WriteEndArray();
    }

    private string TokenText(int id) => tokenizer.Decode([id], skipSpecialTokens: false);
}
