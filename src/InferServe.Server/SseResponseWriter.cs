using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Contracts;
using InferServe.Server.Tools;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace InferServe.Server;

/// <summary>
/// Streaming responses: one server-sent event per chunk (chat.completion.chunk / text_completion), an error event if
/// the engine fails mid-stream, the usage chunk when asked for, then [DONE].
/// Each event is written straight into the response pipe by one reused <see cref="Utf8JsonWriter"/>: a steady stream
/// allocates nothing per chunk beyond the engine's text.
/// </summary>
internal sealed class SseResponseWriter
{
    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;
    private static ReadOnlySpan<byte> EventEnd => "\n\n"u8;
    private static ReadOnlySpan<byte> Done => "data: [DONE]\n\n"u8;

    private readonly HttpContext _ctx;
    private readonly GenerationResponse _response;
    private readonly OpenAiRequest _req;
    private readonly string _chunkObject;
    private readonly PipeWriter _pipe;
    private readonly Utf8JsonWriter _json;
    private readonly CancellationToken _ct;
    // Tool calls completed by the current event (reused).
    private readonly List<ParsedToolCall> _newCalls = [];

    private SseResponseWriter(HttpContext ctx, GenerationResponse response)
    {
        _ctx = ctx;
        _response = response;
        _req = response.Request;
        _chunkObject = response.IsChat ? "chat.completion.chunk" : "text_completion";
        _pipe = ctx.Response.BodyWriter;
        _json = new Utf8JsonWriter(_pipe, ErrorWriter.JsonOptions);
        _ct = ctx.RequestAborted;
    }

    public static async Task WriteAsync(HttpContext ctx, GenerationResponse response, ChannelReader<(int Prompt, GenerationEvent Event)> events)
    {
        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var writer = new SseResponseWriter(ctx, response);
        try
        {
            await writer.StreamAsync(events);
        }
        finally
        {
            await writer._json.DisposeAsync();
        }
    }

    private async Task StreamAsync(ChannelReader<(int Prompt, GenerationEvent Event)> events)
    {
        // Errors before the first token (overload, no worker, invalid for the model) still get their HTTP status.
        await events.WaitToReadAsync(_ct);
        await _ctx.Response.StartAsync(_ct);
        for (int i = 0; i < _response.Choices.Length; i++)
            if (WriteOpeningChunk(i)) await _pipe.FlushAsync(_ct);

        string? failure = null;
        await foreach (var (p, e) in events.ReadAllAsync(_ct))
            if (WriteTokenChunk(p, e, ref failure)) await _pipe.FlushAsync(_ct); // awaited here, not in a helper: no state machine per chunk
        if (failure is not null)
        {
            BeginEvent();
            var error = ErrorWriter.Body(500, failure, "server_error", null, "engine_error");
            using (var doc = JsonDocument.Parse(error)) doc.RootElement.WriteTo(_json);
            EndEvent();
        }
        if (_req.IncludeUsage)
        {
            BeginEvent();
            _json.WriteStartObject();
            _response.WriteHeader(_json, _chunkObject);
            _json.WriteStartArray("choices");
            _json.WriteEndArray();
            _response.WriteUsage(_json);
            _json.WriteEndObject();
            EndEvent();
        }
        _pipe.Write(Done);
        await _pipe.FlushAsync(_ct);
    }

    /// <summary>First chunk of a choice: the assistant role (chat) or the echoed prompt (completions). False when there is none.</summary>
    private bool WriteOpeningChunk(int index)
    {
        // With logprobs, the echo goes out later, with the prompt's logprobs.
        if (!_response.IsChat && !(_req.Echo && _req.Logprobs is null)) return false;
        BeginChunk(index);
        if (_response.IsChat) WriteDelta("assistant", "");
        else _json.WriteString("text", _response.PromptText(index));
        _json.WriteNull("logprobs");
        EndChunk(null);
        return true;
    }

    /// <summary>One engine event as chunks; false when it carries nothing to send (text withheld, no finish).</summary>
    private bool WriteTokenChunk(int prompt, in GenerationEvent e, ref string? failure)
    {
        _response.Usage[prompt] = e.Usage;
        int index = _response.ChoiceIndex(prompt, e);
        var c = _response.Choices[index];
        string? finish = e.Finish is { } f ? GenerationResponse.FinishName(f) : null;
        if (finish == "error") failure ??= e.ErrorMessage ?? GenerationResponse.EngineFailed;
        c.Finish = finish ?? c.Finish;
        return _response.IsChat ? WriteChatChunks(index, c, e, finish) : WriteCompletionChunks(index, c, e, finish);
    }

    private bool WriteCompletionChunks(int index, GenerationChoice c, in GenerationEvent e, string? finish)
    {
        bool wrote = false;
        if (e.PromptLogprobs is { } promptLogprobs && _req.Echo)
        {
            BeginChunk(index);
            _json.WriteString("text", _response.PromptText(index));
            _response.Logprobs.WriteCompletion(_json, c, promptLogprobs);
            EndChunk(null);
            wrote = true;
        }
        if (e.TextDelta.Length == 0 && finish is null && e.Logprobs is null) return wrote;
        BeginChunk(index);
        _json.WriteString("text", e.TextDelta);
        _response.Logprobs.WriteCompletion(_json, c, e.Logprobs);
        EndChunk(finish);
        return true;
    }

    private bool WriteChatChunks(int index, GenerationChoice c, in GenerationEvent e, string? finish)
    {
        _newCalls.Clear();
        string content = c.Content(e.TextDelta, finish is not null, _newCalls);
        int firstCall = c.Tools is null ? 0 : c.Tools.Calls.Count - _newCalls.Count;
        // Tool calls go in chunks of their own, so the finish reason comes after them.
        string? contentFinish = _newCalls.Count == 0 ? c.FinishReason : null;
        bool wrote = false;
        if (content.Length > 0 || e.Logprobs is not null || contentFinish is not null)
        {
            BeginChunk(index);
            WriteDelta(null, content.Length > 0 || finish is null ? content : null);
            _response.Logprobs.WriteChat(_json, e.Logprobs ?? []);
            EndChunk(contentFinish);
            wrote = true;
        }
        for (int k = 0; k < _newCalls.Count; k++)
        {
            // OpenAI's shape: the id, type and name first (arguments ""), then the arguments as a fragment.
            for (int part = 0; part < 2; part++)
            {
                BeginChunk(index);
                WriteToolCallDelta(firstCall + k, _newCalls[k], header: part == 0);
                EndChunk(null);
            }
            wrote = true;
        }
        if (_newCalls.Count > 0 && finish is not null)
        {
            BeginChunk(index);
            WriteDelta(null, null);
            _json.WriteNull("logprobs");
            EndChunk(c.FinishReason);
        }
        return wrote;
    }

    /// <summary>Chat "delta"; role and content are left out when null.</summary>
    private void WriteDelta(string? role, string? content)
    {
        _json.WriteStartObject("delta");
        if (role is not null) _json.WriteString("role", role);
        if (content is not null) _json.WriteString("content", content);
        _json.WriteEndObject();
    }

    private void WriteToolCallDelta(int callIndex, ParsedToolCall call, bool header)
    {
        _json.WriteStartObject("delta");
        _json.WriteStartArray("tool_calls");
        _json.WriteStartObject();
        _json.WriteNumber("index", callIndex);
        if (header)
        {
            _json.WriteString("id", call.Id);
            _json.WriteString("type", "function");
        }
        _json.WriteStartObject("function");
        if (header) _json.WriteString("name", call.Name);
        _json.WriteString("arguments", header ? "" : call.Arguments);
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.WriteEndArray();
        _json.WriteEndObject();
        _json.WriteNull("logprobs");
    }

    /// <summary>Opens a chunk with a single choice; the caller writes its content and logprobs, then <see cref="EndChunk"/>.</summary>
    private void BeginChunk(int index)
    {
        BeginEvent();
        _json.WriteStartObject();
        _response.WriteHeader(_json, _chunkObject);
        _json.WriteStartArray("choices");
        _json.WriteStartObject();
        _json.WriteNumber("index", index);
    }

    private void EndChunk(string? finish)
    {
        if (finish is null) _json.WriteNull("finish_reason");
        else _json.WriteString("finish_reason", finish);
        _json.WriteEndObject();
        _json.WriteEndArray();
        if (_req.IncludeUsage) _json.WriteNull("usage"); // OpenAI: every chunk but the last has "usage": null when include_usage is set
        _json.WriteEndObject();
        EndEvent();
    }

    private void BeginEvent()
    {
        _pipe.Write(DataPrefix);
        _json.Reset(_pipe);
    }

    private void EndEvent()
    {
        _json.Flush(); // commits the JSON to the pipe
        _pipe.Write(EventEnd);
    }
}
