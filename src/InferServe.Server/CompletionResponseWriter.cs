using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Engine;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>Non-streaming responses: collects every choice to the end, then writes one chat.completion / text_completion object.</summary>
internal static class CompletionResponseWriter
{
    public static async Task WriteAsync(HttpContext ctx, GenerationResponse response, ChannelReader<(int Prompt, GenerationEvent Event)> events)
    {
        var ct = ctx.RequestAborted;
        await foreach (var (p, e) in events.ReadAllAsync(ct))
        {
            var c = response.Choices[response.ChoiceIndex(p, e)];
            c.Text.Append(e.TextDelta);
            if (e.Logprobs is not null) c.Logprobs.AddRange(e.Logprobs);
            if (e.Finish is { } f) c.Finish = GenerationResponse.FinishName(f);
            response.Usage[p] = e.Usage;
        }
        if (response.Choices.Any(c => c.Finish == "error")) throw new ApiException(500, "The engine failed while generating this request.", null, "engine_error");
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
                w.WriteString("content", c.Text.ToString());
                w.WriteNull("refusal");
                w.WriteEndObject();
                response.Logprobs.WriteChat(w, c.Logprobs);
            }
            else
            {
                w.WriteString("text", (req.Echo ? response.PromptText(i) : "") + c.Text);
                response.Logprobs.WriteCompletion(w, c, req.Logprobs is null ? null : c.Logprobs);
            }
            w.WriteString("finish_reason", c.Finish ?? "abort");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        response.WriteUsage(w);
        w.WriteEndObject();
    }
}
