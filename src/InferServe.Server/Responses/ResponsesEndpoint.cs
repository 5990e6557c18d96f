using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace InferServe.Server.Responses;

/// <summary>
/// POST /v1/responses, GET and DELETE /v1/responses/{id}. A request is translated into a chat request and served by the
/// chat path (template, tool-call parser, grammar); its answer is a response object or the Responses event stream,
/// and a finished response with store: true is kept for GET and previous_response_id.
/// </summary>
internal sealed class ResponsesEndpoint(ModelHost host, ChatTemplateCache chatTemplates, ResponseStore store, ILogger logger)
{
    public async Task CreateAsync(HttpContext ctx)
    {
        var loaded = host.Current ?? throw ApiException.ModelLoading();
        using var doc = await JsonBody.ParseAsync(ctx);
        RequestFields.EnsureValidText(doc.RootElement);
        var req = ResponseRequest.Parse(doc.RootElement, id => store.Get(id)?.Messages());
        if (req.Model is not null && req.Model != host.ServedModelName)
            throw new ApiException(404, $"The model '{req.Model}' does not exist; this server serves '{host.ServedModelName}'.", "model", "model_not_found", "invalid_request_error");

        string requestId = ErrorMappingMiddleware.RequestId(ctx);
        var started = Stopwatch.GetTimestamp();
        ResponseResult result;
        List<IGenerationStream> handles;
        try
        {
            using var chatDoc = JsonDocument.Parse(req.ChatBody.ToJsonString());
            var chatReq = OpenAiRequest.Parse(chatDoc.RootElement, ApiKind.Chat);
            var prompt = GenerationEndpoint.PrepareChat(new RequestFields(chatDoc.RootElement), chatReq, chatTemplates.Get(loaded));
            handles = await GenerationEndpoint.SubmitAsync(loaded.Service, chatReq, [(prompt.Ids, "")], requestId, prompt.SkipSpecialTokens, prompt.Grammar, ctx.RequestAborted);
            result = new ResponseResult(req, "resp_" + requestId, host.ServedModelName, chatReq.Tools is { ParsesCalls: true } ? prompt.ToolParser : null, chatReq.Tools?.Parallel ?? true);
            logger.LogInformation("Accepted responses request: {PromptTokens} prompt tokens, stream={Stream}, previous={Previous}",
                prompt.Ids.Length, req.Stream, req.PreviousResponseId ?? "none");
        }
        catch (ApiException e) when (ResponseRequest.Param(e.Param) != e.Param)
        {
            throw new ApiException(e.Status, ResponseRequest.Message(e.Message), ResponseRequest.Param(e.Param), e.Code, e.Type);
        }
        catch (InvalidRequestException e)
        {
            throw new ApiException(400, ResponseRequest.Message(e.Message), ResponseRequest.Param(e.Param), "invalid_value", "invalid_request_error");
        }

        var events = GenerationEndpoint.FanIn(handles, ctx.RequestAborted);
        try
        {
            if (req.Stream) await ResponseEventWriter.WriteAsync(ctx, result, events);
            else await CollectAsync(result, events, ctx.RequestAborted);
        }
        finally
        {
            foreach (var h in handles) await h.DisposeAsync();
        }
        if (ctx.RequestAborted.IsCancellationRequested) return;
        var json = Serialize(result);
        if (req.Store && result.Status is "completed" or "incomplete")
        {
            var conversation = new JsonArray([.. req.Turns.Select(m => m!.DeepClone()), result.AssistantMessage()]);
            store.Add(result.Id, json, conversation.ToJsonString());
        }
        if (!req.Stream) await WriteJsonAsync(ctx, json);
        logger.LogInformation("Finished: {PromptTokens} prompt + {CompletionTokens} completion tokens ({CachedTokens} cached), status={Status}, {Items} output item(s), {ElapsedMs:F1} ms",
            result.Usage.PromptTokens, result.Usage.CompletionTokens, result.Usage.CachedTokens, result.Status, result.Output.Count,
            Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    public Task GetAsync(HttpContext ctx, string id) => WriteJsonAsync(ctx, (store.Get(id) ?? throw NotFound(id)).Json);

    public Task DeleteAsync(HttpContext ctx, string id)
    {
        if (!store.Remove(id)) throw NotFound(id);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, ErrorWriter.JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "response");
            w.WriteBoolean("deleted", true);
            w.WriteEndObject();
        }
        return WriteJsonAsync(ctx, buffer.WrittenSpan.ToArray());
    }

    private static Task WriteJsonAsync(HttpContext ctx, byte[] json)
    {
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = json.Length;
        return ctx.Response.Body.WriteAsync(json, ctx.RequestAborted).AsTask();
    }

    private static ApiException NotFound(string id) =>
        new(404, $"Response with id '{id}' not found.", "response_id", "not_found", "invalid_request_error");

    private static async Task CollectAsync(ResponseResult result, System.Threading.Channels.ChannelReader<(int Prompt, GenerationEvent Event)> events, CancellationToken ct)
    {
        await foreach (var (_, e) in events.ReadAllAsync(ct)) result.Apply(e, null);
        if (result.Status == "failed") throw new ApiException(500, "The engine failed while generating this request.", null, "engine_error");
    }

    private static byte[] Serialize(ResponseResult result)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, ErrorWriter.JsonOptions)) result.Write(w);
        return buffer.WrittenSpan.ToArray();
    }
}
