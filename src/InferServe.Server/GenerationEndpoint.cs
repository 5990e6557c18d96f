using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Engine;
using InferServe.Engine.Hosting;
using InferServe.Tokenization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Runs an OpenAI completions / chat request on the engine and writes the JSON or SSE response.</summary>
internal sealed class GenerationEndpoint(EngineHost host, ChatTemplateCache chatTemplates, ILogger logger)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private sealed class Choice
    {
        public readonly StringBuilder Text = new();
        public readonly List<TokenLogprob> Logprobs = [];
        public string? Finish;
        public int TextOffset;
    }

    public async Task HandleAsync(HttpContext ctx, ApiKind kind)
    {
        var loaded = host.Current ?? throw NotReady();
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(ctx.Request.Body, default, ctx.RequestAborted);
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"The request body is not valid JSON: {e.Message}", null, "invalid_json", "invalid_request_error");
        }
        using var bodyDoc = doc;
        var req = OpenAiRequest.Parse(doc.RootElement, kind);
        if (req.Model is not null && req.Model != host.ServedModelName)
            throw new ApiException(404, $"The model '{req.Model}' does not exist; this server serves '{host.ServedModelName}'.", "model", "model_not_found", "invalid_request_error");

        var engine = loaded.Service;
        var tokenizer = engine.Tokenizer;
        List<(int[] Ids, string Text)> prompts;
        if (kind == ApiKind.Chat)
        {
            var messages = ChatPromptBuilder.ParseMessages(new RequestFields(doc.RootElement));
            prompts = [(chatTemplates.Get(loaded).BuildPrompt(messages), "")];
        }
        else prompts = req.EncodeCompletionPrompts(tokenizer);

        string requestId = ErrorMappingMiddleware.RequestId(ctx);
        string id = (kind == ApiKind.Chat ? "chatcmpl-" : "cmpl-") + requestId;
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var started = Stopwatch.GetTimestamp();

        var handles = new List<IGenerationStream>(prompts.Count);
        try
        {
            for (int i = 0; i < prompts.Count; i++)
            {
                var ids = prompts[i].Ids;
                handles.Add(engine.Submit(new GenerationRequest
                {
                    RequestId = prompts.Count == 1 ? requestId : $"{requestId}-{i}",
                    PromptTokens = ids,
                    Sampling = req.Sampling,
                    MaxTokens = req.MaxTokens ?? DefaultMaxTokens(kind, engine, ids.Length),
                    N = req.N,
                    StopStrings = req.Stop,
                    IgnoreEos = req.IgnoreEos,
                    Logprobs = req.Logprobs,
                    Priority = req.Priority,
                }, ctx.RequestAborted));
            }
        }
        catch
        {
            foreach (var h in handles) await h.DisposeAsync();
            throw;
        }
        logger.LogInformation("Accepted {Endpoint} request: {Prompts} prompt(s), {PromptTokens} prompt tokens, n={N}, stream={Stream}",
            kind == ApiKind.Chat ? "chat" : "completions", prompts.Count, prompts.Sum(p => p.Ids.Length), req.N, req.Stream);

        var events = Channel.CreateUnbounded<(int Prompt, GenerationEvent Event)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = handles.Select((h, i) => Pump(h, i, events.Writer, ctx.RequestAborted)).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(t => events.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);

        var usage = new GenerationUsage[prompts.Count];
        for (int i = 0; i < usage.Length; i++) usage[i] = new GenerationUsage(prompts[i].Ids.Length, 0, 0);
        var choices = new Choice[prompts.Count * req.N];
        for (int i = 0; i < choices.Length; i++) choices[i] = new Choice { TextOffset = req.Echo ? prompts[i / req.N].Text.Length : 0 };
        try
        {
            if (req.Stream) await StreamAsync(ctx, req, id, created, prompts, events.Reader, choices, usage, tokenizer);
            else await CompleteAsync(ctx, req, id, created, prompts, events.Reader, choices, usage, tokenizer);
        }
        finally
        {
            foreach (var h in handles) await h.DisposeAsync();
        }
        var total = Sum(usage);
        logger.LogInformation("Finished: {PromptTokens} prompt + {CompletionTokens} completion tokens ({CachedTokens} cached), finish={Finish}, {ElapsedMs:F1} ms",
            total.PromptTokens, total.CompletionTokens, total.CachedTokens, string.Join(",", choices.Select(c => c.Finish ?? "none").Distinct()),
            Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static ApiException NotReady() => new(503, "The model is still loading; retry shortly (see GET /ready).", null, "model_loading");

    /// <summary>vLLM: chat fills the remaining context; completions default to 16 like OpenAI. Clamped to what the KV pool can hold.</summary>
    private static int DefaultMaxTokens(ApiKind kind, IGenerationService engine, int promptLength)
    {
        int room = Math.Min(engine.Facts.MaxContext, engine.Facts.KvCapacityTokens) - promptLength;
        int wanted = kind == ApiKind.Chat ? room : Math.Min(16, room);
        return Math.Max(1, wanted);
    }

    private static async Task Pump(IGenerationStream handle, int prompt, ChannelWriter<(int, GenerationEvent)> writer, CancellationToken ct)
    {
        await foreach (var e in handle.ReadAllAsync(ct)) await writer.WriteAsync((prompt, e), ct);
    }

    private static GenerationUsage Sum(GenerationUsage[] usage) =>
        new(usage.Sum(u => u.PromptTokens), usage.Sum(u => u.CompletionTokens), usage.Sum(u => u.CachedTokens));

    private static string FinishName(FinishReason f) => f switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Abort => "abort",
        _ => "error",
    };

    private async Task CompleteAsync(HttpContext ctx, OpenAiRequest req, string id, long created, List<(int[] Ids, string Text)> prompts,
        ChannelReader<(int Prompt, GenerationEvent Event)> reader, Choice[] choices, GenerationUsage[] usage, ITokenizer tokenizer)
    {
        await foreach (var (p, e) in reader.ReadAllAsync(ctx.RequestAborted))
        {
            var c = choices[p * req.N + e.Index];
            c.Text.Append(e.TextDelta);
            if (e.Logprobs is not null) c.Logprobs.AddRange(e.Logprobs);
            if (e.Finish is { } f) c.Finish = FinishName(f);
            usage[p] = e.Usage;
        }
        if (choices.Any(c => c.Finish == "error")) throw new ApiException(500, "The engine failed while generating this request.", null, "engine_error");
        if (ctx.RequestAborted.IsCancellationRequested) return;

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, ErrorWriter.JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", req.Kind == ApiKind.Chat ? "chat.completion" : "text_completion");
            w.WriteNumber("created", created);
            w.WriteString("model", host.ServedModelName);
            w.WriteStartArray("choices");
            for (int i = 0; i < choices.Length; i++)
            {
                var c = choices[i];
                w.WriteStartObject();
                w.WriteNumber("index", i);
                if (req.Kind == ApiKind.Chat)
                {
                    w.WriteStartObject("message");
                    w.WriteString("role", "assistant");
                    w.WriteString("content", c.Text.ToString());
                    w.WriteNull("refusal");
                    w.WriteEndObject();
                    WriteChatLogprobs(w, req, c.Logprobs, tokenizer);
                }
                else
                {
                    w.WriteString("text", (req.Echo ? prompts[i / req.N].Text : "") + c.Text);
                    WriteCompletionLogprobs(w, req, c, c.Logprobs, tokenizer);
                }
                w.WriteString("finish_reason", c.Finish ?? "abort");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteUsage(w, Sum(usage));
            w.WriteEndObject();
        }
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = buffer.WrittenCount;
        await ctx.Response.Body.WriteAsync(buffer.WrittenMemory, ctx.RequestAborted);
    }

    private async Task StreamAsync(HttpContext ctx, OpenAiRequest req, string id, long created, List<(int[] Ids, string Text)> prompts,
        ChannelReader<(int Prompt, GenerationEvent Event)> reader, Choice[] choices, GenerationUsage[] usage, ITokenizer tokenizer)
    {
        ctx.Response.ContentType = "text/event-stream; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var ct = ctx.RequestAborted;
        var body = ctx.Response.Body;
        var buffer = new ArrayBufferWriter<byte>();

        async Task Send(Action<Utf8JsonWriter> write)
        {
            buffer.ResetWrittenCount();
            buffer.Write(DataPrefix);
            using (var w = new Utf8JsonWriter(buffer, ErrorWriter.JsonOptions)) write(w);
            buffer.Write(EventEnd);
            await body.WriteAsync(buffer.WrittenMemory, ct);
            await body.FlushAsync(ct);
        }

        void Header(Utf8JsonWriter w)
        {
            w.WriteString("id", id);
            w.WriteString("object", req.Kind == ApiKind.Chat ? "chat.completion.chunk" : "text_completion");
            w.WriteNumber("created", created);
            w.WriteString("model", host.ServedModelName);
        }

        // Errors before the first token (overload, no worker, invalid for the model) still get their HTTP status.
        await reader.WaitToReadAsync(ct);
        await ctx.Response.StartAsync(ct);
        // First chunk of each choice: the assistant role (chat) or the echoed prompt (completions).
        for (int i = 0; i < choices.Length; i++)
        {
            if (req.Kind == ApiKind.Chat)
                await Send(w => ChatChunk(w, Header, i, "assistant", "", lw => lw.WriteNull("logprobs"), null, req.IncludeUsage));
            else if (req.Echo)
            {
                int index = i;
                await Send(w => CompletionChunk(w, Header, index, prompts[index / req.N].Text, null, null, req.IncludeUsage));
            }
        }

        bool failed = false;
        await foreach (var (p, e) in reader.ReadAllAsync(ct))
        {
            usage[p] = e.Usage;
            int index = p * req.N + e.Index;
            var c = choices[index];
            string? finish = e.Finish is { } f ? FinishName(f) : null;
            if (finish == "error") failed = true;
            c.Finish = finish ?? c.Finish;
            if (e.TextDelta.Length == 0 && finish is null && e.Logprobs is null) continue;
            if (req.Kind == ApiKind.Chat)
                await Send(w => ChatChunk(w, Header, index, null, e.TextDelta.Length > 0 || finish is null ? e.TextDelta : null,
                    lw => WriteChatLogprobs(lw, req, e.Logprobs ?? [], tokenizer), finish, req.IncludeUsage));
            else
                await Send(w => CompletionChunk(w, Header, index, e.TextDelta, finish, e.Logprobs is null ? null : (c, e.Logprobs), req.IncludeUsage));
        }
        if (failed)
            await Send(w =>
            {
                var error = ErrorWriter.Body(500, "The engine failed while generating this request.", "server_error", null, "engine_error");
                using var doc = JsonDocument.Parse(error);
                doc.RootElement.WriteTo(w);
            });
        if (req.IncludeUsage)
            await Send(w =>
            {
                w.WriteStartObject();
                Header(w);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                WriteUsage(w, Sum(usage));
                w.WriteEndObject();
            });
        await body.WriteAsync(Done, ct);
        await body.FlushAsync(ct);
    }

    /// <summary>One `chat.completion.chunk` with a single choice; role and content are left out when null.</summary>
    private static void ChatChunk(Utf8JsonWriter w, Action<Utf8JsonWriter> header, int index, string? role, string? content,
        Action<Utf8JsonWriter> logprobs, string? finish, bool includeUsage)
    {
        w.WriteStartObject();
        header(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteStartObject("delta");
        if (role is not null) w.WriteString("role", role);
        if (content is not null) w.WriteString("content", content);
        w.WriteEndObject();
        logprobs(w);
        if (finish is null) w.WriteNull("finish_reason");
        else w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        if (includeUsage) w.WriteNull("usage");
        w.WriteEndObject();
    }

    private void CompletionChunk(Utf8JsonWriter w, Action<Utf8JsonWriter> header, int index, string text, string? finish, (Choice, IReadOnlyList<TokenLogprob>)? logprobs, bool nullUsage)
    {
        w.WriteStartObject();
        header(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteString("text", text);
        if (logprobs is { } lp) WriteCompletionLogprobsCore(w, lp.Item1, lp.Item2, host.Current!.Service.Tokenizer);
        else w.WriteNull("logprobs");
        if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        if (nullUsage) w.WriteNull("usage"); // OpenAI: every chunk but the last has "usage": null when include_usage is set
        w.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter w, GenerationUsage u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.PromptTokens);
        w.WriteNumber("completion_tokens", u.CompletionTokens);
        w.WriteNumber("total_tokens", u.PromptTokens + u.CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", u.CachedTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string TokenText(ITokenizer tokenizer, int id) => tokenizer.Decode([id], skipSpecialTokens: false);

    private static void WriteBytes(Utf8JsonWriter w, string token)
    {
        w.WriteStartArray("bytes");
        foreach (var b in Encoding.UTF8.GetBytes(token)) w.WriteNumberValue(b);
        w.WriteEndArray();
    }

    private static void WriteChatLogprobs(Utf8JsonWriter w, OpenAiRequest req, IReadOnlyList<TokenLogprob> logprobs, ITokenizer tokenizer)
    {
        if (req.Logprobs is null)
        {
            w.WriteNull("logprobs");
            return;
        }
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (var lp in logprobs)
        {
            w.WriteStartObject();
            var token = TokenText(tokenizer, lp.TokenId);
            w.WriteString("token", token);
            w.WriteNumber("logprob", Math.Max(lp.Logprob, -9999f));
            WriteBytes(w, token);
            w.WriteStartArray("top_logprobs");
            foreach (var alt in lp.Top.Take(req.Logprobs.Value))
            {
                w.WriteStartObject();
                var t = TokenText(tokenizer, alt.TokenId);
                w.WriteString("token", t);
                w.WriteNumber("logprob", Math.Max(alt.Logprob, -9999f));
                WriteBytes(w, t);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("refusal");
        w.WriteEndObject();
    }

    private static void WriteCompletionLogprobs(Utf8JsonWriter w, OpenAiRequest req, Choice c, IReadOnlyList<TokenLogprob> logprobs, ITokenizer tokenizer)
    {
        if (req.Logprobs is null) w.WriteNull("logprobs");
        else WriteCompletionLogprobsCore(w, c, logprobs, tokenizer);
    }

    private static void WriteCompletionLogprobsCore(Utf8JsonWriter w, Choice c, IReadOnlyList<TokenLogprob> logprobs, ITokenizer tokenizer)
    {
        var tokens = logprobs.Select(lp => TokenText(tokenizer, lp.TokenId)).ToArray();
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var t in tokens) w.WriteStringValue(t);
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var lp in logprobs) w.WriteNumberValue(Math.Max(lp.Logprob, -9999f));
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var lp in logprobs)
        {
            w.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var alt in lp.Top)
            {
                var t = TokenText(tokenizer, alt.TokenId);
                if (seen.Add(t)) w.WriteNumber(t, Math.Max(alt.Logprob, -9999f));
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        foreach (var t in tokens)
        {
            w.WriteNumberValue(c.TextOffset);
            c.TextOffset += t.Length;
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
