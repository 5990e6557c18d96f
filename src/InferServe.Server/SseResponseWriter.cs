using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Engine;
using InferServe.Server.Tools;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace InferServe.Server;

/// <summary>
/// Streaming responses: one server-sent event per chunk (chat.completion.chunk / text_completion), an error event if
/// the engine fails mid-stream, the usage chunk when asked for, then [DONE].
/// </summary>
internal sealed class SseResponseWriter
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly HttpContext _ctx;
    private readonly GenerationResponse _response;
    private readonly OpenAiRequest _req;
    private readonly string _chunkObject;
    private readonly Stream _body;
    private readonly CancellationToken _ct;
    // One event at a time: reused for every chunk.
    private readonly ArrayBufferWriter<byte> _buffer = new();

    private SseResponseWriter(HttpContext ctx, GenerationResponse response)
    {
        _ctx = ctx;
        _response = response;
        _req = response.Request;
        _chunkObject = response.IsChat ? "chat.completion.chunk" : "text_completion";
        _body = ctx.Response.Body;
        _ct = ctx.RequestAborted;
    }

    public static Task WriteAsync(HttpContext ctx, GenerationResponse response, ChannelReader<(int Prompt, GenerationEvent Event)> events)
    {
        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return new SseResponseWriter(ctx, response).StreamAsync(events);
    }

    private async Task StreamAsync(ChannelReader<(int Prompt, GenerationEvent Event)> events)
    {
        // Errors before the first token (overload, no worker, invalid for the model) still get their HTTP status.
        await events.WaitToReadAsync(_ct);
        await _ctx.Response.StartAsync(_ct);
        await SendOpeningChunksAsync();

        bool failed = false;
        var newCalls = new List<ParsedToolCall>();
        await foreach (var (p, e) in events.ReadAllAsync(_ct))
        {
            _response.Usage[p] = e.Usage;
            int index = _response.ChoiceIndex(p, e);
            var c = _response.Choices[index];
            string? finish = e.Finish is { } f ? GenerationResponse.FinishName(f) : null;
            if (finish == "error") failed = true;
            c.Finish = finish ?? c.Finish;
            if (!_response.IsChat)
            {
                if (e.PromptLogprobs is { } promptLogprobs && _req.Echo)
                    await SendChunkAsync(index, null, w =>
                    {
                        w.WriteString("text", _response.PromptText(index));
                        _response.Logprobs.WriteCompletion(w, c, promptLogprobs);
                    });
                if (e.TextDelta.Length == 0 && finish is null && e.Logprobs is null) continue;
                await SendChunkAsync(index, finish, w =>
                {
                    w.WriteString("text", e.TextDelta);
                    _response.Logprobs.WriteCompletion(w, c, e.Logprobs);
                });
                continue;
            }
            newCalls.Clear();
            string content = c.Content(e.TextDelta, finish is not null, newCalls);
            int firstCall = c.Tools is null ? 0 : c.Tools.Calls.Count - newCalls.Count;
            // Tool calls go in chunks of their own, so the finish reason comes after them.
            string? contentFinish = newCalls.Count == 0 ? c.FinishReason : null;
            if (content.Length > 0 || e.Logprobs is not null || contentFinish is not null)
                await SendChunkAsync(index, contentFinish, w =>
                {
                    WriteDelta(w, null, content.Length > 0 || finish is null ? content : null);
                    _response.Logprobs.WriteChat(w, e.Logprobs ?? []);
                });
            for (int k = 0; k < newCalls.Count; k++)
            {
                var call = newCalls[k];
                int callIndex = firstCall + k;
                // OpenAI's shape: the id, type and name first (arguments ""), then the arguments as a fragment.
                await SendChunkAsync(index, null, w => WriteToolCallDelta(w, callIndex, call, header: true));
                await SendChunkAsync(index, null, w => WriteToolCallDelta(w, callIndex, call, header: false));
            }
            if (newCalls.Count > 0 && finish is not null)
                await SendChunkAsync(index, c.FinishReason, w =>
                {
                    WriteDelta(w, null, null);
                    w.WriteNull("logprobs");
                });
        }
        if (failed)
            await SendAsync(w =>
            {
                var error = ErrorWriter.Body(500, "The engine failed while generating this request.", "server_error", null, "engine_error");
                using var doc = JsonDocument.Parse(error);
                doc.RootElement.WriteTo(w);
            });
        if (_req.IncludeUsage)
            await SendAsync(w =>
            {
                w.WriteStartObject();
                _response.WriteHeader(w, _chunkObject);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                _response.WriteUsage(w);
                w.WriteEndObject();
            });
        await _body.WriteAsync(Done, _ct);
        await _body.FlushAsync(_ct);
    }

    /// <summary>First chunk of each choice: the assistant role (chat) or the echoed prompt (completions).</summary>
    private async Task SendOpeningChunksAsync()
    {
        for (int i = 0; i < _response.Choices.Length; i++)
        {
            int index = i;
            if (_response.IsChat)
                await SendChunkAsync(index, null, w =>
                {
                    WriteDelta(w, "assistant", "");
                    w.WriteNull("logprobs");
                });
            else if (_req.Echo && _req.Logprobs is null) // with logprobs, the echo goes out with the prompt's logprobs
                await SendChunkAsync(index, null, w =>
                {
                    w.WriteString("text", _response.PromptText(index));
                    w.WriteNull("logprobs");
                });
        }
    }

    /// <summary>Chat "delta"; role and content are left out when null.</summary>
    private static void WriteDelta(Utf8JsonWriter w, string? role, string? content)
    {
        w.WriteStartObject("delta");
        if (role is not null) w.WriteString("role", role);
        if (content is not null) w.WriteString("content", content);
        w.WriteEndObject();
    }

    private static void WriteToolCallDelta(Utf8JsonWriter w, int callIndex, ParsedToolCall call, bool header)
    {
        w.WriteStartObject("delta");
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteNumber("index", callIndex);
        if (header)
        {
            w.WriteString("id", call.Id);
            w.WriteString("type", "function");
        }
        w.WriteStartObject("function");
        if (header) w.WriteString("name", call.Name);
        w.WriteString("arguments", header ? "" : call.Arguments);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("logprobs");
    }

    /// <summary>One chunk with a single choice; <paramref name="writeChoice"/> writes its content and logprobs.</summary>
    private Task SendChunkAsync(int index, string? finish, Action<Utf8JsonWriter> writeChoice) => SendAsync(w =>
    {
        w.WriteStartObject();
        _response.WriteHeader(w, _chunkObject);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        writeChoice(w);
        if (finish is null) w.WriteNull("finish_reason");
        else w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        if (_req.IncludeUsage) w.WriteNull("usage"); // OpenAI: every chunk but the last has "usage": null when include_usage is set
        w.WriteEndObject();
    });

    private async Task SendAsync(Action<Utf8JsonWriter> write)
    {
        _buffer.ResetWrittenCount();
        _buffer.Write(DataPrefix);
        using (var w = new Utf8JsonWriter(_buffer, ErrorWriter.JsonOptions)) write(w);
        _buffer.Write(EventEnd);
        await _body.WriteAsync(_buffer.WrittenMemory, _ct);
        await _body.FlushAsync(_ct);
    }
}
