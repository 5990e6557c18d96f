using System.Reflection;
using System.Text.Json;
using InferServe.Contracts.Hosting;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server;

/// <summary>
/// vLLM's small endpoints that clients probe for: POST /tokenize, POST /detokenize and GET /version, with vLLM's shapes.
/// Chat tokenization renders the messages exactly as /v1/chat/completions would, so <c>count</c> is that request's prompt size.
/// </summary>
internal sealed class TokenizerEndpoints(ModelHost host, ChatTemplateCache chatTemplates)
{
    private static readonly HashSet<string> PromptFields = ["model", "prompt", "add_special_tokens", "return_token_strs"];
    private static readonly HashSet<string> ChatFields =
        ["model", "messages", "add_generation_prompt", "continue_final_message", "chat_template_kwargs", "tools", "return_token_strs"];
    private static readonly HashSet<string> DetokenizeFields = ["model", "tokens"];

    public static string Version { get; } =
        typeof(TokenizerEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static Task VersionAsync(HttpContext ctx) => WriteAsync(ctx, w => w.WriteString("version", Version));

    public async Task TokenizeAsync(HttpContext ctx)
    {
        var loaded = host.Current ?? throw ApiException.ModelLoading();
        using var doc = await JsonBody.ParseAsync(ctx);
        var root = doc.RootElement;
        bool chat = root.TryGetProperty("messages", out _);
        Reject(root, chat ? ChatFields : PromptFields);
        var f = new RequestFields(root);
        CheckModel(f);
        var tokenizer = loaded.Service.Tokenizer;
        int[] ids;
        if (chat)
        {
            var messages = ChatPromptBuilder.ParseMessages(f);
            var tools = Tools.ToolRequest.Parse(f);
            bool addGenerationPrompt = f.Bool("add_generation_prompt") ?? true;
            bool continueFinal = f.Bool("continue_final_message") ?? false;
            if (continueFinal && addGenerationPrompt)
                throw ApiException.BadRequest("'continue_final_message' needs 'add_generation_prompt': false.", "continue_final_message");
            Dictionary<string, JsonElement>? kwargs = null;
            if (f.TryGet("chat_template_kwargs", out var kw))
            {
                if (kw.ValueKind != JsonValueKind.Object) throw RequestFields.TypeError("chat_template_kwargs", "an object");
                kwargs = kw.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
            }
            ids = chatTemplates.Get(loaded).BuildPrompt(messages, new ChatRenderOptions
            {
                Tools = tools?.Tools, AddGenerationPrompt = addGenerationPrompt, ContinueFinalMessage = continueFinal, Kwargs = kwargs,
            });
        }
        else
        {
            var prompt = f.String("prompt") ?? throw new ApiException(400, "'prompt' or 'messages' is required.", "prompt", "missing_required_parameter", "invalid_request_error");
            ids = tokenizer.Encode(prompt, f.Bool("add_special_tokens") ?? true);
        }
        bool strs = f.Bool("return_token_strs") ?? false;
        await WriteAsync(ctx, w =>
        {
            w.WriteNumber("count", ids.Length);
            w.WriteNumber("max_model_len", loaded.Service.Facts.MaxContext);
            w.WriteStartArray("tokens");
            foreach (var id in ids) w.WriteNumberValue(id);
            w.WriteEndArray();
            if (!strs)
            {
                w.WriteNull("token_strs");
            }
            else
            {
                w.WriteStartArray("token_strs");
                foreach (var id in ids) w.WriteStringValue(tokenizer.IdToToken(id));
                w.WriteEndArray();
            }
        });
    }

    public async Task DetokenizeAsync(HttpContext ctx)
    {
        var loaded = host.Current ?? throw ApiException.ModelLoading();
        using var doc = await JsonBody.ParseAsync(ctx);
        Reject(doc.RootElement, DetokenizeFields);
        var f = new RequestFields(doc.RootElement);
        CheckModel(f);
        if (!f.TryGet("tokens", out var tokens))
            throw new ApiException(400, "'tokens' is required.", "tokens", "missing_required_parameter", "invalid_request_error");
        if (tokens.ValueKind != JsonValueKind.Array) throw RequestFields.TypeError("tokens", "an array of token ids");
        var tokenizer = loaded.Service.Tokenizer;
        var ids = new int[tokens.GetArrayLength()];
        int i = 0;
        foreach (var t in tokens.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out int id)) throw RequestFields.TypeError("tokens", "an array of integer token ids");
            if ((uint)id >= (uint)tokenizer.VocabSize)
                throw ApiException.BadRequest($"Token id {id} is outside the vocabulary (size {tokenizer.VocabSize}).", "tokens");
            ids[i++] = id;
        }
        var text = tokenizer.Decode(ids, skipSpecialTokens: false);
        await WriteAsync(ctx, w => w.WriteString("prompt", text));
    }

    private void CheckModel(RequestFields f)
    {
        if (f.String("model") is { } model && model != host.ServedModelName)
            throw new ApiException(404, $"The model '{model}' does not exist; this server serves '{host.ServedModelName}'.", "model", "model_not_found", "invalid_request_error");
    }

    private static void Reject(JsonElement root, HashSet<string> known)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("The request body must be a JSON object.");
        foreach (var p in root.EnumerateObject())
        {
            if (!known.Contains(p.Name))
                throw new ApiException(400, $"Unsupported field '{p.Name}'; this endpoint accepts {string.Join(", ", known)}.", p.Name, "unsupported_field", "invalid_request_error");
        }
    }

    private static async Task WriteAsync(HttpContext ctx, Action<Utf8JsonWriter> body)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, ErrorWriter.JsonOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        ctx.Response.ContentType = "application/json";
        await ctx.Response.Body.WriteAsync(ms.ToArray(), ctx.RequestAborted);
    }
}
