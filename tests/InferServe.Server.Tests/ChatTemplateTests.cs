using System.Net;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;


namespace InferServe.Server.Tests;

public sealed class ChatTemplateTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly object[] Hello = [new { role = "user", content = "Hello" }];

    [Fact]
    public async Task The_models_chatml_template_renders_the_prompt_with_the_generation_prompt()
    {
        var gw = fixture.Gateway;
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = Hello, max_tokens = 1 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Template output, encoded with the tokenizer's BOS (the template does not emit one).
        var expected = gw.Engine.Tokenizer.Encode("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", addSpecialTokens: true);
        Assert.Equal(expected.Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task A_template_that_emits_bos_itself_does_not_get_a_second_one()
    {
        await using var gw = await TestServer.StartAsync(s => s.ChatTemplate = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}");
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = Hello, max_tokens = 1 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tokenizer = gw.Engine.Tokenizer;
        var withOneBos = tokenizer.Encode("Hello", addSpecialTokens: true);
        Assert.Equal(tokenizer.BosTokenId, withOneBos[0]);
        Assert.Equal(withOneBos.Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Chat_template_from_a_file_overrides_the_models()
    {
        var file = Path.Combine(TestPaths.GraphCacheDir, "template-" + Guid.NewGuid().ToString("N") + ".jinja");
        File.WriteAllText(file, "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:");
        await using var gw = await TestServer.StartAsync(s => s.ChatTemplate = file);
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = Hello, max_tokens = 1 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = gw.Engine.Tokenizer.Encode("user: Hello\nassistant:", addSpecialTokens: true);
        Assert.Equal(expected.Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }
}

/// <summary>A GGUF model (written by llama.cpp's gguf-py) brings its own tokenizer and tokenizer.chat_template.</summary>
public sealed class GgufChatTemplateTests
{
    [Fact(Timeout = 120_000)]
    public async Task A_gguf_models_embedded_chat_template_renders_the_prompt()
    {
        var model = GgufTestFiles.Require("stories260K-f16.gguf");
        await using var gw = await TestServer.StartAsync(s => s.Engine.Model = model);
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = new object[] { new { role = "user", content = "Hello" } }, max_tokens = 4 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = gw.Engine.Tokenizer.Encode("user: Hello\nassistant:", addSpecialTokens: true);
        Assert.Equal(expected.Length, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(4, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
