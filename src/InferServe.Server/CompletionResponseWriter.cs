using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Contracts;
using InferServe.Server.Tools;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>Non-streaming responses: collects every choice to the end, then writes one chat.completion / text_completion object.</summary>
internal static class CompletionResponseWriter
{
    public static async Task WriteAsync(HttpContext ctx, GenerationResponse response, ChannelReader<(int Prompt, GenerationEvent Event)> events)
    {
        var ct = ctx.RequestAborted;
        var calls = new List<ParsedToolCall>(); // the extractor keeps them; this list is only its output channel
        string? failure = null;
        await foreach (var (p, e) in events.ReadAllAsync(ct))
        {
            var c = response.Choices[response.ChoiceIndex(p, e)];
            calls.Clear();
            c.Text.Append(c.Content(e.TextDelta, e.IsFinal, calls));
            if (e.Logprobs is not null) c.Logprobs.AddRange(e.Logprobs);
            if (e.PromptLogprobs is not null) c.PromptLogprobs = e.PromptLogprobs;
            if (e.Finish is { } f) c.Finish = GenerationResponse.FinishName(f);
            if (e.Finish == FinishReason.Error) failure ??= e.ErrorMessage ?? GenerationResponse.EngineFailed;
            response.Usage[p] = e.Usage;
        }
        if (failure is not null) throw new ApiException(500, failure, null, "engine_error");
        if (ct.IsCancellationRequested) return;

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, ErrorWriter.JsonOptions)) Write(w, response);
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = buffer.WrittenCount;
        await ctx.Response.Body.WriteAsync(buffer.WrittenMemory, ct);
    }

    private static void Write(Utf8JsonWriter w, GenerationResponse response)
    {
        var req = response.Request;
        w.WriteStartObject();
        response.WriteHeader(w, response.IsChat ? "chat.completion" : "text_completion");
        w.WriteStartArray("choices");
        for (int i = 0; i < response.Choices.Length; i++)
        {
            var c = response.Choices[i];
            w.WriteStartObject();
            w.WriteNumber("index", i);
            if (response.IsChat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                var calls = c.Tools?.Calls ?? [];
                if (calls.Count > 0 && c.Text.Length == 0) w.WriteNull("content");
                else w.WriteString("content", c.Text.ToString());
                w.WriteNull("refusal");
                if (calls.Count > 0)
                {
                    w.WriteStartArray("tool_calls");
                    foreach (var call in calls) GenerationResponse.WriteToolCall(w, call);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
                response.Logprobs.WriteChat(w, c.Logprobs);
            }
            else
            {
                w.WriteString("text", (req.Echo ? response.PromptText(i) : "") + c.Text);
                response.Logprobs.WriteCompletion(w, c, req.Logprobs is null ? null : [.. c.PromptLogprobs ?? Array.Empty<TokenLogprob>(), .. c.Logprobs]);
            }
            w.WriteString("finish_reason", c.FinishReason ?? "abort");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        response.WriteUsage(w);
        w.WriteEndObject();
    }
}
