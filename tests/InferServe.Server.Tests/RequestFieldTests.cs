using System.Net;
using System.Text.Json;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>
/// Every request field is honoured or refused with a 400 naming it. The effects are made observable on a random model by
/// logit_bias, which pins greedy decoding to a chosen token.
/// </summary>
public sealed class RequestFieldTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private readonly TestServer _gw = fixture.Gateway;
    private const int Token = 300; // an ordinary merged token of the tiny vocabulary
    private static Dictionary<string, int> Pin(int id) => new() { [id.ToString()] = 100 };

    private async Task<JsonElement> CompleteAsync(object body)
    {
        var (response, json) = await _gw.PostAsync("/v1/completions", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
        return json.GetProperty("choices")[0];
    }

    [Theory(Timeout = 60_000)]
    [InlineData("/v1/completions", """{"prompt":"Hi","some_future_field":1}""", "some_future_field")]
    [InlineData("/v1/completions", """{"prompt":"Hi","response_format":{"type":"xml"}}""", "response_format")]
    [InlineData("/v1/completions", """{"prompt":"Hi","messages":[]}""", "messages")]
    [InlineData("/v1/completions", """{"prompt":"Hi","tools":[]}""", "tools")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"functions":[]}""", "functions")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"echo":true}""", "echo")]
    [InlineData("/v1/completions", """{"prompt":"Hi","logit_bias":{"x":1}}""", "logit_bias")]
    [InlineData("/v1/completions", """{"prompt":"Hi","logit_bias":{"1":101}}""", "logit_bias")]
    [InlineData("/v1/completions", """{"prompt":"Hi","logit_bias":{"999999":1}}""", "logit_bias")]
    [InlineData("/v1/completions", """{"prompt":"Hi","stop_token_ids":[999999]}""", "stop_token_ids")]
    [InlineData("/v1/completions", """{"prompt":"Hi","stop_token_ids":"1"}""", "stop_token_ids")]
    [InlineData("/v1/completions", """{"prompt":"Hi","max_tokens":4,"min_tokens":5}""", "min_tokens")]
    [InlineData("/v1/completions", """{"prompt":"Hi","skip_special_tokens":"no"}""", "skip_special_tokens")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"continue_final_message":true}""", "continue_final_message")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"chat_template_kwargs":[1]}""", "chat_template_kwargs")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"tool_choice":"auto"}""", "tool_choice")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"retrieval"}]}""", "tools[0].type")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"a b"}}]}""", "tools[0].function.name")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice")]
    // The tiny model's ChatML template has no tool-call format: tools would be silently unparsed, so they are refused.
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}""", "tools")]
    [InlineData("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"1"}]}]}""", "messages[1].tool_calls[0]")]
    public async Task Unknown_unsupported_and_invalid_fields_are_a_400_naming_the_field(string path, string body, string param)
    {
        using var response = await _gw.PostJsonAsync(path, body);
        await BadRequestTests.AssertOpenAiError(response, 400, param);
    }

    [Fact(Timeout = 60_000)]
    public async Task Fields_accepted_and_ignored_on_purpose_are_documented_ones()
    {
        var (response, _) = await _gw.PostAsync("/v1/completions", new { prompt = "Hi", max_tokens = 2, user = "u-1", metadata = new { a = "b" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Logit_bias_pins_greedy_decoding_to_a_token()
    {
        var choice = await CompleteAsync(new { prompt = "Hi", max_tokens = 3, temperature = 0, logit_bias = Pin(Token) });
        var piece = _gw.Engine.Tokenizer.Decode([Token]);
        Assert.Equal(piece + piece + piece, choice.GetProperty("text").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Allowed_token_ids_leave_sampling_only_those_tokens()
    {
        var choice = await CompleteAsync(new { prompt = "Hi", max_tokens = 3, temperature = 1, seed = 3, allowed_token_ids = new[] { Token } });
        var piece = _gw.Engine.Tokenizer.Decode([Token]);
        Assert.Equal(piece + piece + piece, choice.GetProperty("text").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Stop_token_ids_end_the_choice_and_include_stop_str_in_output_keeps_its_text()
    {
        var without = await CompleteAsync(new { prompt = "Hi", max_tokens = 5, temperature = 0, logit_bias = Pin(Token), stop_token_ids = new[] { Token } });
        Assert.Equal("stop", without.GetProperty("finish_reason").GetString());
        Assert.Equal("", without.GetProperty("text").GetString());

        var with = await CompleteAsync(new { prompt = "Hi", max_tokens = 5, temperature = 0, logit_bias = Pin(Token), stop_token_ids = new[] { Token }, include_stop_str_in_output = true });
        Assert.Equal("stop", with.GetProperty("finish_reason").GetString());
        Assert.Equal(_gw.Engine.Tokenizer.Decode([Token]), with.GetProperty("text").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Include_stop_str_in_output_keeps_a_matched_stop_string()
    {
        var piece = _gw.Engine.Tokenizer.Decode([Token]);
        var plain = await CompleteAsync(new { prompt = "Hi", max_tokens = 5, temperature = 0, logit_bias = Pin(Token), stop = piece });
        Assert.Equal("", plain.GetProperty("text").GetString());
        var kept = await CompleteAsync(new { prompt = "Hi", max_tokens = 5, temperature = 0, logit_bias = Pin(Token), stop = piece, include_stop_str_in_output = true });
        Assert.Equal(piece, kept.GetProperty("text").GetString());
        Assert.Equal("stop", kept.GetProperty("finish_reason").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Min_tokens_holds_off_end_of_sequence()
    {
        int eos = _gw.Engine.Facts.EosTokenIds[0];
        var (_, early) = await _gw.PostAsync("/v1/completions", new { prompt = "Hi", max_tokens = 8, temperature = 0, logit_bias = Pin(eos) });
        Assert.Equal(1, early.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var (_, held) = await _gw.PostAsync("/v1/completions", new { prompt = "Hi", max_tokens = 8, temperature = 0, logit_bias = Pin(eos), min_tokens = 3 });
        // Three tokens that cannot be EOS, then the pinned EOS.
        Assert.Equal(4, held.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("stop", held.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Skip_special_tokens_false_keeps_special_tokens_in_the_text()
    {
        var tokenizer = _gw.Engine.Tokenizer;
        int imStart = tokenizer.TokenToId("<|im_start|>")!.Value;
        var skipped = await CompleteAsync(new { prompt = "Hi", max_tokens = 2, temperature = 0, logit_bias = Pin(imStart) });
        Assert.Equal("", skipped.GetProperty("text").GetString());
        var kept = await CompleteAsync(new { prompt = "Hi", max_tokens = 2, temperature = 0, logit_bias = Pin(imStart), skip_special_tokens = false });
        Assert.Equal("<|im_start|><|im_start|>", kept.GetProperty("text").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Add_generation_prompt_and_continue_final_message_shape_the_chat_prompt()
    {
        var tokenizer = _gw.Engine.Tokenizer;
        var (r1, noPrompt) = await _gw.PostAsync("/v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 1, add_generation_prompt = false,
        });
        Assert.Equal(HttpStatusCode.OK, r1.StatusCode);
        Assert.Equal(tokenizer.Encode("<|im_start|>user\nHello<|im_end|>\n").Length, noPrompt.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        var (r2, continued) = await _gw.PostAsync("/v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "Hello" }, new { role = "assistant", content = "Once upon a" } },
            max_tokens = 1, add_generation_prompt = false, continue_final_message = true,
        });
        Assert.Equal(HttpStatusCode.OK, r2.StatusCode);
        Assert.Equal(tokenizer.Encode("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nOnce upon a").Length,
            continued.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact(Timeout = 120_000)]
    public async Task Chat_template_kwargs_reach_the_template()
    {
        await using var gw = await TestServer.StartAsync(s => s.ChatTemplate = "{% for m in messages %}{{ m.content }}{% endfor %}{% if shout %}!!!{% endif %}");
        async Task<int> PromptTokens(object? kwargs)
        {
            var (response, body) = await gw.PostAsync("/tokenize", kwargs is null
                ? new { messages = new[] { new { role = "user", content = "Hello" } } }
                : new { messages = new[] { new { role = "user", content = "Hello" } }, chat_template_kwargs = kwargs });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return body.GetProperty("count").GetInt32();
        }
        var tokenizer = gw.Engine.Tokenizer;
        Assert.Equal(tokenizer.Encode("Hello").Length, await PromptTokens(null));
        Assert.Equal(tokenizer.Encode("Hello!!!").Length, await PromptTokens(new { shout = true }));
    }

    [Fact(Timeout = 60_000)]
    public async Task Echo_with_logprobs_reports_prompt_logprobs_that_match_generation()
    {
        var tokenizer = _gw.Engine.Tokenizer;
        var prompt = tokenizer.Encode("Once upon a time");
        // logit_bias picks the token; logprobs still report the model's own distribution.
        var first = await CompleteAsync(new { prompt, max_tokens = 1, temperature = 0, logprobs = 1, logit_bias = Pin(Token) });
        float generated = first.GetProperty("logprobs").GetProperty("token_logprobs")[0].GetSingle();
        int next = Token;

        // The generated token appended to the prompt: its prompt logprob is the logprob it was generated with.
        int[] longer = [.. prompt, next];
        var echoed = await CompleteAsync(new { prompt = longer, max_tokens = 2, temperature = 0, logprobs = 2, echo = true });
        var e = echoed.GetProperty("logprobs");
        var tokenLogprobs = e.GetProperty("token_logprobs");
        Assert.Equal(longer.Length + 2, tokenLogprobs.GetArrayLength());
        Assert.Equal(JsonValueKind.Null, tokenLogprobs[0].ValueKind);
        Assert.Equal(JsonValueKind.Null, e.GetProperty("top_logprobs")[0].ValueKind);
        for (int i = 1; i < tokenLogprobs.GetArrayLength(); i++) Assert.True(tokenLogprobs[i].GetSingle() <= 0);
        Assert.Equal(generated, tokenLogprobs[longer.Length - 1].GetSingle(), 3);
        Assert.Equal(longer.Length + 2, e.GetProperty("tokens").GetArrayLength());
        Assert.StartsWith(tokenizer.Decode(longer, skipSpecialTokens: false), echoed.GetProperty("text").GetString());

        // Streaming: the echo chunk carries the prompt's logprobs.
        var response = await _gw.PostJsonAsync("/v1/completions", JsonSerializer.Serialize(new { prompt = longer, max_tokens = 2, temperature = 0, logprobs = 2, echo = true, stream = true }));
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        var echoChunk = events[0].GetProperty("choices")[0];
        Assert.Equal(tokenizer.Decode(longer, skipSpecialTokens: false), echoChunk.GetProperty("text").GetString());
        Assert.Equal(longer.Length, echoChunk.GetProperty("logprobs").GetProperty("token_logprobs").GetArrayLength());
    }

    [Fact(Timeout = 120_000)]
    public async Task Prompt_logprobs_of_a_prompt_longer_than_a_step_are_complete_and_causal()
    {
        // 300 tokens: two prefill chunks (the test server's step budget is 256) and many head groups (8 rows each).
        var ids = Enumerable.Range(0, 300).Select(i => 260 + (i * 37) % 240).ToArray();
        var full = (await CompleteAsync(new { prompt = ids, max_tokens = 1, temperature = 0, logprobs = 0, echo = true })).GetProperty("logprobs").GetProperty("token_logprobs");
        var head = (await CompleteAsync(new { prompt = ids[..40], max_tokens = 1, temperature = 0, logprobs = 0, echo = true })).GetProperty("logprobs").GetProperty("token_logprobs");
        Assert.Equal(ids.Length + 1, full.GetArrayLength());
        // A token's logprob depends only on what precedes it.
        for (int i = 1; i < 40; i++) Assert.Equal(head[i].GetSingle(), full[i].GetSingle(), 3);
    }

    [Fact(Timeout = 60_000)]
    public async Task Tokenize_detokenize_and_version_have_vllms_shapes()
    {
        var tokenizer = _gw.Engine.Tokenizer;
        var (r, tok) = await _gw.PostAsync("/tokenize", new { model = TestServer.ModelName, prompt = "Once upon a time", return_token_strs = true });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var ids = tok.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(tokenizer.Encode("Once upon a time"), ids);
        Assert.Equal(ids.Length, tok.GetProperty("count").GetInt32());
        Assert.Equal(_gw.Engine.Facts.MaxContext, tok.GetProperty("max_model_len").GetInt32());
        Assert.Equal(ids.Select(tokenizer.IdToToken), tok.GetProperty("token_strs").EnumerateArray().Select(s => s.GetString()));

        var (_, bare) = await _gw.PostAsync("/tokenize", new { prompt = "Once upon a time", add_special_tokens = false });
        Assert.Equal(tokenizer.Encode("Once upon a time", addSpecialTokens: false).Length, bare.GetProperty("count").GetInt32());
        Assert.Equal(JsonValueKind.Null, bare.GetProperty("token_strs").ValueKind);

        var (_, chat) = await _gw.PostAsync("/tokenize", new { messages = new[] { new { role = "user", content = "Hello" } } });
        var (_, completion) = await _gw.PostAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "Hello" } }, max_tokens = 1 });
        Assert.Equal(completion.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), chat.GetProperty("count").GetInt32());

        var (d, detok) = await _gw.PostAsync("/detokenize", new { tokens = tokenizer.Encode("Once upon a time", addSpecialTokens: false) });
        Assert.Equal(HttpStatusCode.OK, d.StatusCode);
        Assert.Equal("Once upon a time", detok.GetProperty("prompt").GetString());

        var version = await _gw.Http.GetFromJsonAsyncSafe("/version");
        Assert.False(string.IsNullOrEmpty(version.GetProperty("version").GetString()));

        using var bad = await _gw.PostJsonAsync("/detokenize", """{"tokens":[999999]}""");
        await BadRequestTests.AssertOpenAiError(bad, 400, "tokens");
        using var unknown = await _gw.PostJsonAsync("/tokenize", """{"prompt":"Hi","foo":1}""");
        await BadRequestTests.AssertOpenAiError(unknown, 400, "foo");
    }
}

internal static class HttpJson
{
    public static async Task<JsonElement> GetFromJsonAsyncSafe(this HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
