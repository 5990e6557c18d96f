using System.ClientModel;
using System.Text.Json;
using InferServe.TestSupport.Server;
using OpenAI.Chat;

namespace InferServe.Server.Tests;

/// <summary>The official OpenAI .NET SDK talks to the gateway as it would to api.openai.com.</summary>
public sealed class OpenAiSdkTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private readonly TestServer _gw = fixture.Gateway;
    private ChatClient Chat => _gw.OpenAI().GetChatClient(TestServer.ModelName);

    [Fact]
    public async Task Chat_completion_returns_assistant_message_with_usage()
    {
        ChatCompletion completion = await Chat.CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Say hello")],
            new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 });

        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal(TestServer.ModelName, completion.Model);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 8);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.True(completion.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task Greedy_chat_is_deterministic_and_streaming_matches_it_with_usage_last()
    {
        var messages = new ChatMessage[] { new UserChatMessage("Tell me a story") };
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0 };
        ChatCompletion once = await Chat.CompleteChatAsync(messages, options);
        ChatCompletion twice = await Chat.CompleteChatAsync(messages, options);
        Assert.Equal(once.Content[0].Text, twice.Content[0].Text);

        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        int updates = 0;
        await foreach (var update in Chat.CompleteChatStreamingAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0 }))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            if (update.FinishReason is { } f) finish = f;
            if (update.Usage is { } u) usage = u;
        }
        Assert.True(updates >= 3);
        Assert.Equal(once.Content[0].Text, text.ToString());
        Assert.Equal(once.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(once.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(once.Usage.InputTokenCount, usage.InputTokenCount);
    }

    [Fact]
    public async Task Chat_logprobs_report_the_sampled_token_and_top_alternatives()
    {
        ChatCompletion completion = await Chat.CompleteChatAsync([new UserChatMessage("Hi")],
            new ChatCompletionOptions { MaxOutputTokenCount = 5, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 });

        Assert.Equal(completion.Usage.OutputTokenCount, completion.ContentTokenLogProbabilities.Count);
        foreach (var lp in completion.ContentTokenLogProbabilities)
        {
            Assert.True(lp.LogProbability <= 0);
            Assert.Equal(3, lp.TopLogProbabilities.Count);
            // Greedy: the sampled token is the most likely alternative.
            Assert.Equal(lp.TopLogProbabilities[0].LogProbability, lp.LogProbability, 4);
        }
        Assert.Equal(completion.Content[0].Text, string.Concat(completion.ContentTokenLogProbabilities.Select(l => l.Token)));
    }

    [Fact]
    public async Task Stop_sequences_end_the_choice_before_the_stop_text()
    {
        var messages = new ChatMessage[] { new UserChatMessage("Count") };
        ChatCompletion free = await Chat.CompleteChatAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0 });
        var text = free.Content[0].Text;
        Assert.True(text.Length >= 4, $"need some text to cut, got '{text}'");
        var stop = text.Substring(text.Length / 2, 1);
        int cut = text.IndexOf(stop, StringComparison.Ordinal);

        var options = new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0 };
        options.StopSequences.Add(stop);
        ChatCompletion stopped = await Chat.CompleteChatAsync(messages, options);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(text[..cut], stopped.Content[0].Text);
    }

    [Fact]
    public async Task N_two_returns_two_choices_through_the_sdk_protocol_method()
    {
        var body = BinaryContent.Create(BinaryData.FromString(
            """{"model":"tiny-test","messages":[{"role":"user","content":"Hi"}],"n":2,"max_tokens":6,"temperature":1.0,"seed":7}"""));
        ClientResult result = await Chat.CompleteChatAsync(body);
        using var doc = JsonDocument.Parse(result.GetRawResponse().Content);
        var choices = doc.RootElement.GetProperty("choices");
        Assert.Equal(2, choices.GetArrayLength());
        Assert.Equal([0, 1], choices.EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(choices.EnumerateArray(), c => Assert.Equal("assistant", c.GetProperty("message").GetProperty("role").GetString()));
        var usage = doc.RootElement.GetProperty("usage");
        int completionTokens = usage.GetProperty("completion_tokens").GetInt32();
        Assert.InRange(completionTokens, 2, 12);
    }

    [Fact]
    public async Task Models_list_names_the_served_model()
    {
        var models = await _gw.OpenAI().GetOpenAIModelClient().GetModelsAsync();
        var model = Assert.Single(models.Value);
        Assert.Equal(TestServer.ModelName, model.Id);
        Assert.Equal("inferserve", model.OwnedBy);
    }

    [Fact]
    public async Task Wrong_api_key_surfaces_as_a_401_client_result_exception()
    {
        var chat = _gw.OpenAI("sk-wrong").GetChatClient(TestServer.ModelName);
        var e = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("Hi")]));
        Assert.Equal(401, e.Status);
    }

    [Fact]
    public async Task Completions_return_text_completion_shape_with_usage()
    {
        var (response, body) = await _gw.PostAsync("/v1/completions", new { model = TestServer.ModelName, prompt = "Once upon", max_tokens = 7, temperature = 0 });
        Assert.Equal(200, (int)response.StatusCode);
        Assert.StartsWith("cmpl-", body.GetProperty("id").GetString());
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        var usage = body.GetProperty("usage");
        Assert.Equal(7, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + 7, usage.GetProperty("total_tokens").GetInt32());
        Assert.True(usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32() >= 0);
    }

    [Fact]
    public async Task Completions_with_several_prompts_and_n_index_choices_prompt_major()
    {
        var (response, body) = await _gw.PostAsync("/v1/completions", new { prompt = new[] { "Hello", "World" }, n = 2, max_tokens = 3, temperature = 0 });
        Assert.Equal(200, (int)response.StatusCode);
        var choices = body.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c.GetProperty("index").GetInt32()));
        // Greedy: both choices of one prompt agree.
        Assert.Equal(choices[0].GetProperty("text").GetString(), choices[1].GetProperty("text").GetString());
        Assert.Equal(12, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Completions_accept_token_ids_and_echo_the_prompt()
    {
        var (r1, b1) = await _gw.PostAsync("/v1/completions", new { prompt = new[] { 5, 6, 7, 8 }, max_tokens = 2, temperature = 0 });
        Assert.Equal(200, (int)r1.StatusCode);
        Assert.Equal(4, b1.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var (r2, b2) = await _gw.PostAsync("/v1/completions", new { prompt = "Echo me", max_tokens = 2, temperature = 0, echo = true });
        Assert.Equal(200, (int)r2.StatusCode);
        Assert.StartsWith("Echo me", b2.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Completions_logprobs_have_the_legacy_shape()
    {
        var (response, body) = await _gw.PostAsync("/v1/completions", new { prompt = "Hi there", max_tokens = 4, temperature = 0, logprobs = 2 });
        Assert.Equal(200, (int)response.StatusCode);
        var lp = body.GetProperty("choices")[0].GetProperty("logprobs");
        Assert.Equal(4, lp.GetProperty("tokens").GetArrayLength());
        Assert.Equal(4, lp.GetProperty("token_logprobs").GetArrayLength());
        Assert.Equal(4, lp.GetProperty("text_offset").GetArrayLength());
        var top = lp.GetProperty("top_logprobs");
        Assert.Equal(4, top.GetArrayLength());
        Assert.All(top.EnumerateArray(), t => Assert.InRange(t.EnumerateObject().Count(), 1, 2));
        Assert.Equal(body.GetProperty("choices")[0].GetProperty("text").GetString(), string.Concat(lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString())));
    }

    [Fact]
    public async Task Streaming_completions_send_chunks_then_usage_then_done()
    {
        var response = await _gw.PostJsonAsync("/v1/completions",
            """{"prompt":"Stream","max_tokens":5,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}""");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        var chunks = events[..^1];
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.All(chunks, c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var usageChunk = events[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(5, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Streaming_chat_first_chunk_carries_the_role_and_each_choice_finishes_once()
    {
        var response = await _gw.PostJsonAsync("/v1/chat/completions",
            """{"messages":[{"role":"user","content":"Hi"}],"n":2,"max_tokens":4,"stream":true}""");
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        Assert.All(events, e => Assert.Equal("chat.completion.chunk", e.GetProperty("object").GetString()));
        Assert.All(events, e => Assert.False(e.TryGetProperty("usage", out var u) && u.ValueKind != JsonValueKind.Null));
        for (int i = 0; i < 2; i++)
        {
            var mine = events.Select(e => e.GetProperty("choices")[0]).Where(c => c.GetProperty("index").GetInt32() == i).ToList();
            Assert.Equal("assistant", mine[0].GetProperty("delta").GetProperty("role").GetString());
            Assert.Single(mine, c => c.GetProperty("finish_reason").ValueKind != JsonValueKind.Null);
            Assert.NotEqual(JsonValueKind.Null, mine[^1].GetProperty("finish_reason").ValueKind);
        }
    }

    [Fact]
    public async Task Chat_without_max_tokens_may_fill_the_remaining_context()
    {
        var (response, body) = await _gw.PostAsync("/v1/chat/completions",
            new { messages = new[] { new { role = "user", content = "Hi" } }, temperature = 0, ignore_eos = true });
        Assert.Equal(200, (int)response.StatusCode);
        var usage = body.GetProperty("usage");
        Assert.Equal(_gw.Engine.MaxContext, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Theory(Timeout = 300_000)]
    [InlineData(0f)]
    [InlineData(1f)]
    public async Task Structured_output_with_a_json_schema_response_format_validates_against_the_schema(float temperature)
    {
        JsonSchemaValidator.RequirePeer();
        const string schema = """
            {"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","minimum":0},
             "tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["name","age","tags"],"additionalProperties":false}
            """;
        var options = new ChatCompletionOptions
        {
            Temperature = temperature, MaxOutputTokenCount = 200,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(schema), jsonSchemaIsStrict: true),
        };
        var outputs = new List<(string, string)>();
        for (int i = 0; i < 3; i++)
        {
            ChatCompletion c = await Chat.CompleteChatAsync([new UserChatMessage($"Describe person {i}")], options);
            Assert.Equal(ChatFinishReason.Stop, c.FinishReason);
            outputs.Add((schema, c.Content[0].Text));
        }
        Assert.All(await JsonSchemaValidator.ValidateAsync(outputs), Assert.Null);
    }
}
