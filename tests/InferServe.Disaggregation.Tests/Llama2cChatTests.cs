using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>
/// A llama2.c checkpoint (no tokenizer_config.json, no chat_template.jinja beside it: the README's example) chats
/// through a gateway exactly as through the one-process server: both take the embedded default's plain template.
/// </summary>
public sealed class Llama2cChatTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_llama2c_model_chats_through_the_gateway_as_through_the_one_process_server()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin");
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(model)!, "chat_template.jinja")), "the test is about a checkpoint without a template beside it");
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = model, WithAll = true }, ct);
        var chat = new JsonObject
        {
            ["model"] = Topology.ServedName, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Once upon a time" }),
            ["max_tokens"] = 12, ["temperature"] = 0,
        };
        var viaGateway = await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/chat/completions", chat, ct);
        Assert.Contains("there was a little girl named Lily", viaGateway);
        Assert.Equal(await OpenAiCalls.RunAsync(t.All!.HttpBase, "/v1/chat/completions", chat, ct), viaGateway);
    }
}
