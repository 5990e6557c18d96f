using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace InferServe.Disaggregation.Tests.Support;

/// <summary>
/// OpenAI HTTP calls reduced to what must match between deployments: per choice its text, finish reason and
/// logprobs, plus usage. Streams are folded into the same shape.
/// </summary>
public static class OpenAiCalls
{
    public static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(3) };

    public static async Task<string> RunAsync(string baseUrl, string path, JsonObject body, CancellationToken ct)
    {
        if (path == "/v1/responses") return await ResponsesCalls.RunAsync(baseUrl, body, ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        var stream = body["stream"]?.GetValue<bool>() == true;
        if (response.StatusCode != HttpStatusCode.OK) return $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}";
        return stream ? await FoldStreamAsync(response, ct) : Canonical(JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!);
    }

    private static string Canonical(JsonNode doc)
    {
        var choices = new JsonArray();
        foreach (var c in doc["choices"]!.AsArray())
        {
            choices.Add(new JsonObject
            {
                ["index"] = c!["index"]!.GetValue<int>(),
                ["text"] = (c["text"] ?? c["message"]!["content"])!.GetValue<string>(),
                ["finish"] = c["finish_reason"]!.GetValue<string>(),
                ["logprobs"] = c["logprobs"]?.DeepClone(),
            });
        }

        return new JsonObject { ["choices"] = choices, ["usage"] = Usage(doc["usage"]) }.ToJsonString();
    }

    /// <summary>Token counts; cached_tokens is left out: concurrent requests race for each other's prefix blocks.</summary>
    private static JsonNode? Usage(JsonNode? usage)
    {
        if (usage is not JsonObject u) return null;
        var copy = (JsonObject)u.DeepClone();
        copy.Remove("prompt_tokens_details");
        return copy;
    }

    private static async Task<string> FoldStreamAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = new SortedDictionary<int, StringBuilder>();
        var finish = new SortedDictionary<int, string>();
        var logprobs = new SortedDictionary<int, JsonArray>();
        JsonNode? usage = null;
        var errors = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        bool done = false;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ")) continue;
            var data = line[6..];
            if (data == "[DONE]")
            {
                done = true;
                break;
            }
            var chunk = JsonNode.Parse(data)!;
            if (chunk["error"] is { } error) errors.Add(error["message"]!.GetValue<string>());
            if (chunk["usage"] is JsonObject u) usage = Usage(u);
            foreach (var c in chunk["choices"]?.AsArray() ?? [])
            {
                int i = c!["index"]!.GetValue<int>();
                var delta = c["text"] ?? c["delta"]?["content"];
                if (delta is not null) (text.TryGetValue(i, out var sb) ? sb : text[i] = new StringBuilder()).Append(delta.GetValue<string>());
                if (c["finish_reason"] is JsonValue f) finish[i] = f.GetValue<string>();
                if (c["logprobs"] is JsonObject lp)
                {
                    var list = logprobs.TryGetValue(i, out var l) ? l : logprobs[i] = [];
                    foreach (var token in (lp["content"] ?? lp["token_logprobs"])!.AsArray()) list.Add(token?.DeepClone());
                }
            }
        }
        var choices = new JsonArray();
        foreach (var (i, sb) in text)
        {
            choices.Add(new JsonObject
            {
                ["index"] = i, ["text"] = sb.ToString(), ["finish"] = finish.GetValueOrDefault(i),
                ["logprobs"] = logprobs.TryGetValue(i, out var l) ? l : null,
            });
        }

        return new JsonObject { ["choices"] = choices, ["usage"] = usage, ["done"] = done, ["errors"] = new JsonArray([.. errors.Select(e => (JsonNode)e)]) }.ToJsonString();
    }

    /// <summary>
    /// Twenty requests that together cover what the split must preserve: completions and chat, streamed and not,
    /// greedy and seeded sampling, n=2, logprobs, penalties, stop strings, and prompts from one token to several blocks.
    /// </summary>
    public static IReadOnlyList<(string Path, JsonObject Body)> MixedRequests()
    {
        const string longPrompt = "Once upon a time there was a little dog named Max. Max liked to run in the park with his friend Sam. One day Sam found a big red ball under a tree and they played all day until the sun went down.";
        var list = new List<(string, JsonObject)>();
        JsonObject C(string prompt, int max, bool stream = false) => new() { ["model"] = Topology.ServedName, ["prompt"] = prompt, ["max_tokens"] = max, ["stream"] = stream };
        JsonObject Chat(string content, int max, bool stream = false) => new()
        {
            ["model"] = Topology.ServedName, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }), ["max_tokens"] = max, ["stream"] = stream,
        };
        JsonObject Usage(JsonObject o)
        {
            o["stream_options"] = new JsonObject { ["include_usage"] = true };
            return o;
        }
        list.Add(("/v1/completions", With(C("Once upon a time", 40), "temperature", 0)));
        list.Add(("/v1/completions", Usage(With(C("Once upon a time", 40, stream: true), "temperature", 0))));
        list.Add(("/v1/completions", With(With(With(C("The cat", 30), "temperature", 0.9), "seed", 1), "n", 2)));
        list.Add(("/v1/completions", Usage(With(With(With(With(C("Lily and Ben", 30, stream: true), "temperature", 1.0), "top_p", 0.9), "seed", 5), "n", 2))));
        list.Add(("/v1/completions", With(With(C(longPrompt, 24), "temperature", 0), "logprobs", 2)));
        list.Add(("/v1/completions", With(With(With(C(longPrompt, 24, stream: true), "temperature", 0.7), "seed", 11), "logprobs", 1)));
        list.Add(("/v1/completions", With(With(With(With(C("The sun", 32), "temperature", 0.8), "seed", 3), "presence_penalty", 0.5), "frequency_penalty", 0.5)));
        list.Add(("/v1/completions", With(With(With(C("A", 20), "temperature", 0.8), "seed", 9), "repetition_penalty", 1.3)));
        list.Add(("/v1/completions", With(With(C("Once upon a time", 60), "temperature", 0), "stop", new JsonArray("park", "dog"))));
        list.Add(("/v1/completions", With(With(With(C("Tom had a", 25, stream: true), "temperature", 0.9), "seed", 21), "top_k", 20)));
        list.Add(("/v1/completions", With(With(With(C(longPrompt + " Then", 30), "temperature", 0.6), "seed", 2), "n", 2)));
        list.Add(("/v1/completions", With(With(C("One day", 1), "temperature", 0), "logprobs", 3)));
        list.Add(("/v1/completions", With(With(With(C("The bird", 28), "temperature", 1.2), "seed", 77), "min_p", 0.05)));
        list.Add(("/v1/chat/completions", With(Chat("Once upon a time", 30), "temperature", 0)));
        list.Add(("/v1/chat/completions", Usage(With(Chat("Once upon a time", 30, stream: true), "temperature", 0))));
        list.Add(("/v1/chat/completions", With(With(With(Chat("The little girl", 25), "temperature", 0.9), "seed", 4), "n", 2)));
        list.Add(("/v1/chat/completions", With(With(With(Chat("A big fish", 25, stream: true), "temperature", 0.8), "seed", 8), "logprobs", true)));
        list.Add(("/v1/chat/completions", With(With(Chat(longPrompt, 20), "temperature", 0), "stop", new JsonArray("."))));
        list.Add(("/v1/completions", With(With(With(C("The dog", 30, stream: true), "temperature", 0.9), "seed", 13), "n", 2)));
        list.Add(("/v1/completions", With(With(With(C(longPrompt + longPrompt, 16), "temperature", 0.5), "seed", 99), "ignore_eos", true)));
        // The vLLM fields cross the worker protocol: min_tokens and logit_bias change sampling on both workers.
        list.Add(("/v1/completions", With(With(With(C("Once upon a time", 20), "temperature", 0), "min_tokens", 12), "logit_bias", new JsonObject { ["400"] = 4.0 })));
        list.Add(("/v1/completions", With(With(With(With(C("The cat sat", 20, stream: true), "temperature", 0), "stop_token_ids", new JsonArray(13)), "include_stop_str_in_output", true), "skip_special_tokens", false)));
        // Structured outputs cross too: the decode worker replays the grammar and closes the JSON within the same token budget.
        list.Add(("/v1/completions", With(With(C("Once upon a time", 24), "temperature", 0), "response_format", new JsonObject { ["type"] = "json_object" })));
        list.Add(("/v1/completions", With(With(With(With(C("The cat", 20), "temperature", 0.9), "seed", 6), "n", 2), "response_format", new JsonObject { ["type"] = "json_object" })));
        // The Responses API takes the chat path: greedy and seeded, streamed and not, instructions, structured output, a cut.
        JsonObject R(JsonNode input, int max, bool stream = false) => new() { ["model"] = Topology.ServedName, ["input"] = input, ["max_output_tokens"] = max, ["stream"] = stream };
        list.Add(("/v1/responses", With(R("Once upon a time", 30), "temperature", 0)));
        list.Add(("/v1/responses", With(R("Once upon a time", 30, stream: true), "temperature", 0)));
        list.Add(("/v1/responses", With(With(With(With(R(new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "input_text", ["text"] = longPrompt }) }), 24, stream: true),
            "instructions", "A story."), "temperature", 0.8), "seed", 4), "top_p", 0.9)));
        list.Add(("/v1/responses", With(With(R("The cat", 24), "temperature", 0), "text", new JsonObject { ["format"] = new JsonObject { ["type"] = "json_object" } })));
        list.Add(("/v1/responses", With(With(R("Lily went", 40), "temperature", 0), "stop", new JsonArray("."))));
        // A forced function call: the tool-call grammar and the hermes parser on both sides.
        JsonObject Call(bool stream) => With(With(With(R("Book a flight", 80, stream), "temperature", 0), "tools", JsonNode.Parse("""
            [{"type":"function","name":"book","strict":true,"parameters":{"type":"object","properties":{"to":{"type":"string","maxLength":12}},"required":["to"],"additionalProperties":false}}]
            """)), "tool_choice", new JsonObject { ["type"] = "function", ["name"] = "book" });
        list.Add(("/v1/responses", Call(stream: false)));
        list.Add(("/v1/responses", Call(stream: true)));
        return list;
    }

    private static JsonObject With(JsonObject o, string key, JsonNode? value)
    {
        o[key] = value;
        return o;
    }
}
