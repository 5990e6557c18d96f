using System.Diagnostics;
using System.Threading.Channels;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using InferServe.Server.Tools;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>
/// POST /v1/completions and /v1/chat/completions: parses the request, submits one engine request per prompt, merges
/// their event streams and hands them to the JSON or SSE writer.
/// </summary>
internal sealed class GenerationEndpoint(ModelHost host, ChatTemplateCache chatTemplates, ILogger logger)
{
    public async Task HandleAsync(HttpContext ctx, ApiKind kind)
    {
        var loaded = host.Current ?? throw ApiException.ModelLoading();
        using var doc = await JsonBody.ParseAsync(ctx);
        RequestFields.EnsureValidText(doc.RootElement);
        var req = OpenAiRequest.Parse(doc.RootElement, kind);
        if (req.Model is not null && req.Model != host.ServedModelName)
            throw new ApiException(404, $"The model '{req.Model}' does not exist; this server serves '{host.ServedModelName}'.", "model", "model_not_found", "invalid_request_error");

        var engine = loaded.Service;
        List<(int[] Ids, string Text)> prompts;
        ToolCallParser? toolParser = null;
        bool skipSpecialTokens = req.Generation.SkipSpecialTokens;
        var grammar = req.Generation.Grammar; // a forced tool choice brings its own
        if (kind == ApiKind.Chat)
        {
            var chat = PrepareChat(new RequestFields(doc.RootElement), req, chatTemplates.Get(loaded));
            (toolParser, skipSpecialTokens, grammar) = (chat.ToolParser, chat.SkipSpecialTokens, chat.Grammar);
            prompts = [(chat.Ids, "")];
        }
        else
        {
            prompts = req.EncodeCompletionPrompts(engine.Tokenizer);
        }

        string requestId = ErrorMappingMiddleware.RequestId(ctx);
        var started = Stopwatch.GetTimestamp();
        // Submitting validates (n, ranges) before the response sizes anything by them.
        var handles = await SubmitAsync(engine, req, prompts, requestId, skipSpecialTokens, grammar, ctx.RequestAborted);
        var response = new GenerationResponse(req, (kind == ApiKind.Chat ? "chatcmpl-" : "cmpl-") + requestId, host.ServedModelName, prompts, engine.Tokenizer, toolParser);
        logger.LogDebug("Accepted {Endpoint} request: {Prompts} prompt(s), {PromptTokens} prompt tokens, n={N}, stream={Stream}",
            kind == ApiKind.Chat ? "chat" : "completions", prompts.Count, prompts.Sum(p => p.Ids.Length), req.N, req.Stream);

        var events = FanIn(handles, ctx.RequestAborted);
        try
        {
            if (req.Stream) await SseResponseWriter.WriteAsync(ctx, response, events);
            else await CompletionResponseWriter.WriteAsync(ctx, response, events);
        }
        finally
        {
            foreach (var h in handles) await h.DisposeAsync();
        }
        var total = response.TotalUsage();
        logger.LogDebug("Finished: {PromptTokens} prompt + {CompletionTokens} completion tokens ({CachedTokens} cached), finish={Finish}, {ElapsedMs:F1} ms",
            total.PromptTokens, total.CompletionTokens, total.CachedTokens, string.Join(",", response.Choices.Select(c => c.Finish ?? "none").Distinct()),
            Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// A chat request bound to the model: its messages rendered with the chat template, the tool-call parser when calls
    /// are parsed, and the grammar (a forced tool choice brings its own). /v1/responses comes here too.
    /// </summary>
    internal static ChatPrompt PrepareChat(RequestFields f, OpenAiRequest req, ChatPromptBuilder builder)
    {
        var messages = ChatPromptBuilder.ParseMessages(f);
        ToolCallParser? toolParser = null;
        bool skipSpecialTokens = req.Generation.SkipSpecialTokens;
        var grammar = req.Generation.Grammar;
        if (req.Tools is { } tools)
        {
            if (tools.ParsesCalls)
            {
                toolParser = builder.ToolParser ?? throw ApiException.BadRequest(
                    "This model's tool-call format is not known (its chat template has none of the supported markers), so tool calls could not be parsed; start the server with --tool-call-parser llama3|hermes|mistral.", "tools");
                // The format's marker is a special token (Mistral's [TOOL_CALLS]): keep special tokens in the text to find it.
                if (toolParser.NeedsSpecialTokens) skipSpecialTokens = false;
            }
            if (tools.Constraint is { } forced)
            {
                if (grammar is not null)
                    throw ApiException.BadRequest($"A forced 'tool_choice' cannot be combined with '{grammar.Param}': both constrain the output.", "tool_choice");
                grammar = ToolCallGrammar.Build(forced, toolParser!);
            }
        }
        if (req.Render.ContinueFinalMessage && messages[^1].Content is null)
            throw ApiException.BadRequest("'continue_final_message' needs a final message with text content.", "continue_final_message");
        return new ChatPrompt(builder.BuildPrompt(messages, req.Render), toolParser, skipSpecialTokens, grammar);
    }

    /// <summary>One engine request per prompt (ids suffixed -i when there are several); all are released if one is refused.</summary>
    internal static async Task<List<IGenerationStream>> SubmitAsync(IGenerationService engine, OpenAiRequest req,
        List<(int[] Ids, string Text)> prompts, string requestId, bool skipSpecialTokens, InferServe.Grammar.GrammarSpec? grammar, CancellationToken ct)
    {
        var handles = new List<IGenerationStream>(prompts.Count);
        try
        {
            for (int i = 0; i < prompts.Count; i++)
            {
                var request = req.ForPrompt(prompts.Count == 1 ? requestId : $"{requestId}-{i}", prompts[i].Ids, engine.Facts)
                    with
                { SkipSpecialTokens = skipSpecialTokens, Grammar = grammar };
                handles.Add(engine.Submit(request, ct));
            }
        }
        catch
        {
            foreach (var h in handles) await h.DisposeAsync();
            throw;
        }
        return handles;
    }

    /// <summary>Merges the prompts' event streams into one, tagged with the prompt index; a failed stream completes it with the error.</summary>
    internal static ChannelReader<(int Prompt, GenerationEvent Event)> FanIn(List<IGenerationStream> handles, CancellationToken ct)
    {
        var events = Channel.CreateUnbounded<(int Prompt, GenerationEvent Event)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = handles.Select((h, i) => Pump(h, i, events.Writer, ct)).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(t => events.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        return events.Reader;
    }

    private static async Task Pump(IGenerationStream handle, int prompt, ChannelWriter<(int, GenerationEvent)> writer, CancellationToken ct)
    {
        await foreach (var e in handle.ReadAllAsync(ct)) await writer.WriteAsync((prompt, e), ct);
    }
}

/// <summary>A chat prompt ready to submit: token ids, the tool-call parser (null when calls are not parsed) and the output grammar.</summary>
internal readonly record struct ChatPrompt(int[] Ids, ToolCallParser? ToolParser, bool SkipSpecialTokens, InferServe.Grammar.GrammarSpec? Grammar);
