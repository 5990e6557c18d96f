using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace InferServe.Server.Responses;

/// <summary>
/// stream: true. The Responses event sequence as server-sent events (<c>event: TYPE</c> then <c>data: {...}</c>, every
/// event numbered by sequence_number): response.created, response.in_progress, the output items' added / delta / done
/// events, then response.completed, response.incomplete or response.failed.
/// </summary>
internal sealed class ResponseEventWriter : IResponseEvents
{
    private readonly ResponseResult _result;
    private readonly PipeWriter _pipe;
    private readonly Utf8JsonWriter _json;
    private int _sequence;

    private ResponseEventWriter(HttpContext ctx, ResponseResult result)
    {
        _result = result;
        _pipe = ctx.Response.BodyWriter;
        _json = new Utf8JsonWriter(_pipe, ErrorWriter.JsonOptions);
    }

    public static async Task WriteAsync(HttpContext ctx, ResponseResult result, ChannelReader<(int Prompt, GenerationEvent Event)> events)
    {
        var ct = ctx.RequestAborted;
        // Errors before the first token (overload, no worker, invalid for the model) still get their HTTP status.
        await events.WaitToReadAsync(ct);
        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await ctx.Response.StartAsync(ct);
        var writer = new ResponseEventWriter(ctx, result);
        try
        {
            writer.WriteResponseEvent("response.created");
            writer.WriteResponseEvent("response.in_progress");
            await writer._pipe.FlushAsync(ct);
            try
            {
                await foreach (var (_, e) in events.ReadAllAsync(ct))
                {
                    result.Apply(e, writer);
                    await writer._pipe.FlushAsync(ct);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException && !ct.IsCancellationRequested)
            {
                // A worker lost mid-stream: the stream still ends with an event the client understands.
                result.Fail();
            }
            writer.WriteResponseEvent(result.Status switch
            {
                "completed" => "response.completed",
                "incomplete" or "cancelled" => "response.incomplete",
                _ => "response.failed",
            });
            await writer._pipe.FlushAsync(ct);
        }
        finally
        {
            await writer._json.DisposeAsync();
        }
    }

    public void ItemAdded(int index, OutputItem item)
    {
        Begin("response.output_item.added");
        _json.WriteNumber("output_index", index);
        _json.WritePropertyName("item");
        item.Write(_json, opening: true);
        End();
        if (!item.IsMessage) return;
        BeginPart("response.content_part.added", index, item);
        _json.WritePropertyName("part");
        OutputItem.WriteTextPart(_json, "");
        End();
    }

    public void TextDelta(int index, OutputItem item, string delta)
    {
        BeginPart("response.output_text.delta", index, item);
        _json.WriteString("delta", delta);
        _json.WriteStartArray("logprobs");
        _json.WriteEndArray();
        End();
    }

    public void ItemDone(int index, OutputItem item)
    {
        if (item.IsMessage)
        {
            var text = item.Text.ToString();
            BeginPart("response.output_text.done", index, item);
            _json.WriteString("text", text);
            _json.WriteStartArray("logprobs");
            _json.WriteEndArray();
            End();
            BeginPart("response.content_part.done", index, item);
            _json.WritePropertyName("part");
            OutputItem.WriteTextPart(_json, text);
            End();
        }
        else
        {
            // Calls are parsed whole, so the arguments come as one delta.
            BeginItemEvent("response.function_call_arguments.delta", index, item);
            _json.WriteString("delta", item.Call!.Arguments);
            End();
            BeginItemEvent("response.function_call_arguments.done", index, item);
            _json.WriteString("name", item.Call.Name);
            _json.WriteString("arguments", item.Call.Arguments);
            End();
        }
        Begin("response.output_item.done");
        _json.WriteNumber("output_index", index);
        _json.WritePropertyName("item");
        item.Write(_json);
        End();
    }

    private void WriteResponseEvent(string type)
    {
        Begin(type);
        _json.WritePropertyName("response");
        _result.Write(_json);
        End();
    }

    private void BeginItemEvent(string type, int index, OutputItem item)
    {
        Begin(type);
        _json.WriteString("item_id", item.Id);
        _json.WriteNumber("output_index", index);
    }

    private void BeginPart(string type, int index, OutputItem item)
    {
        BeginItemEvent(type, index, item);
        _json.WriteNumber("content_index", 0);
    }

    private void Begin(string type)
    {
        _pipe.Write("event: "u8);
        _pipe.Write(System.Text.Encoding.ASCII.GetBytes(type)); // our own constants: plain ASCII
        _pipe.Write("\ndata: "u8);
        _json.Reset(_pipe);
        _json.WriteStartObject();
        _json.WriteString("type", type);
        _json.WriteNumber("sequence_number", _sequence++);
    }

    private void End()
    {
        _json.WriteEndObject();
        _json.Flush();
        _pipe.Write("\n\n"u8);
    }
}
