using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.LoadTests.Datasets;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Clients;

/// <summary>
/// Any OpenAI-compatible server (InferServe, vLLM, llama-server) over streaming SSE: /v1/completions or
/// /v1/chat/completions, with ignore_eos so output lengths follow the dataset.
/// </summary>
public sealed class OpenAiClient(HttpClient http, string baseUrl, string model, bool chat, TimeSpan requestTimeout, string? apiKey = null) : ILlmClient
{
    public string Api => chat ? "chat" : "completions";

    public async Task SendAsync(Prompt prompt, RequestRecord record, RunClock clock, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(requestTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + (chat ? "/v1/chat/completions" : "/v1/completions"))
            {
                Content = new StringContent(Body(prompt).ToJsonString(), Encoding.UTF8, "application/json"),
            };
            if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                int code = (int)response.StatusCode;
                record.Error = code == 429 && response.Headers.RetryAfter is null ? "http_429_no_retry_after" : $"http_{code}";
                record.End = clock.Now;
                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                record.ErrorDetail = body[..Math.Min(300, body.Length)];
                return;
            }
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            while (await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
                var data = line.AsSpan(5).Trim();
                if (data.SequenceEqual("[DONE]")) break;
                OnChunk(JsonNode.Parse(data.ToString()), record, clock.Now);
                if (record.Error is not null) break;
            }
            record.End = clock.Now;
            if (record.Error is null && record.Chunks.Count == 0) record.Error = "no_tokens";
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The run stopped: the request stays unfinished.
        }
        catch (OperationCanceledException)
        {
            Fail(record, clock, "timeout");
        }
        catch (HttpRequestException e)
        {
            Fail(record, clock, e.HttpRequestError == HttpRequestError.ConnectionError ? "connection_refused" : "http_transport", e.Message);
        }
        catch (IOException e)
        {
            Fail(record, clock, "stream_broken", e.Message);
        }
        catch (JsonException e)
        {
            Fail(record, clock, "bad_json", e.Message);
        }
    }

    private static void Fail(RequestRecord record, RunClock clock, string type, string? detail = null)
    {
        record.Error = type;
        record.ErrorDetail = detail;
        record.End = clock.Now;
    }

    private JsonObject Body(Prompt prompt)
    {
        var body = new JsonObject
        {
            ["model"] = model, ["max_tokens"] = prompt.MaxTokens, ["temperature"] = 0, ["ignore_eos"] = true, ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        if (chat)
            body["messages"] = new JsonArray([.. prompt.ChatMessages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
        else
            body["prompt"] = prompt.TokenIds is { } ids ? new JsonArray([.. ids.Select(t => (JsonNode)t)]) : prompt.Text;
        return body;
    }

    /// <summary>
    /// One SSE event: an error, usage, or a token delta (text for completions, delta.content for chat). A chunk with
    /// a finish_reason counts even when its text is empty (tokens that decode to nothing, as vLLM's client counts
    /// them); chat's opening role-only chunk does not.
    /// </summary>
    internal static void OnChunk(JsonNode? chunk, RequestRecord record, double now)
    {
        if (chunk is null) return;
        if (chunk["error"] is not null)
        {
            record.Error = "stream_error";
            record.ErrorDetail = chunk["error"]?["message"]?.ToString();
            return;
        }
        if (chunk["usage"] is JsonObject usage)
        {
            record.InputTokens = usage["prompt_tokens"]?.GetValue<int>() ?? 0;
            record.OutputTokens = usage["completion_tokens"]?.GetValue<int>() ?? 0;
        }
        if (chunk["choices"] is JsonArray { Count: > 0 } choices)
        {
            var c = choices[0]!;
            var text = c["text"] ?? c["delta"]?["content"];
            bool hasText = text is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0;
            if (hasText || c["finish_reason"] is JsonValue) record.Chunks.Add((now, 1));
        }
    }

    public void Dispose() { }
}
