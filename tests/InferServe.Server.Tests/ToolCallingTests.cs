using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;
using OpenAI.Chat;

namespace InferServe.Server.Tests;

/// <summary>
/// A random-weight model does not call tools by itself. This model is the generated tiny model with one vocabulary entry
/// replaced by an added token whose text is a whole Hermes/Qwen2.5 tool call; <c>logit_bias</c> makes greedy decoding emit
/// it, and the stop string <c>&lt;/tool_call&gt;</c> ends the reply there, as Qwen's EOS would. Everything after the sampler
/// is the real path: detokenizer, stop strings, tool-call parser, JSON and SSE writers, and the OpenAI SDK reading them.
/// </summary>
public sealed class ToolModelFixture : IAsyncLifetime
{
    public const string CallText = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

    /// <summary>Qwen2.5's tool-calling template, trimmed: tools in the system turn, assistant tool_calls and tool replies rendered.</summary>
    public const string Template = """
        {%- if tools %}<|im_start|>system
        You may call functions. Function signatures inside <tools></tools>:
        <tools>
        {%- for tool in tools %}
        {{ tool | tojson }}
        {%- endfor %}
        </tools>
        Reply with <tool_call>{"name": <function-name>, "arguments": <args-json-object>}</tool_call><|im_end|>
        {% endif %}
        {%- for message in messages %}
        {%- if message.role == "assistant" and message.tool_calls %}<|im_start|>assistant
        {%- for tc in message.tool_calls %}
        <tool_call>
        {"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}}
        </tool_call>
        {%- endfor %}<|im_end|>
        {% elif message.role == "tool" %}<|im_start|>user
        <tool_response>
        {{ message.content }}
        </tool_response><|im_end|>
        {% else %}<|im_start|>{{ message.role }}
        {{ message.content }}<|im_end|>
        {% endif %}
        {%- endfor %}
        {%- if add_generation_prompt %}<|im_start|>assistant
        {% endif %}
        """;

    public TestServer Gateway { get; private set; } = null!;
    public int CallTokenId { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var (dir, id) = WriteModel();
        CallTokenId = id;
        Gateway = await TestServer.StartAsync(s =>
        {
            s.Engine.Model = dir;
            s.ChatTemplate = Template; // has <tool_call>: the hermes parser is recognised from it
        });
    }

    public async ValueTask DisposeAsync() => await Gateway.DisposeAsync();

    /// <summary>The tiny model with its last merged token turned into the call (nothing merges into it, so the BPE stays consistent).</summary>
    internal static (string Dir, int CallTokenId) WriteModel()
    {
        var source = TinyModels.Path(InferServe.ModelGen.ModelSpec.Tiny);
        var dir = Path.Combine(TestPaths.GraphCacheDir, "models", "tiny-tool-call-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var path = Path.Combine(dir, "tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var model = json["model"]!.AsObject();
        var vocab = model["vocab"]!.AsObject();
        var (last, id) = vocab.Select(kv => (kv.Key, kv.Value!.GetValue<int>())).MaxBy(kv => kv.Item2);
        vocab.Remove(last);
        var merges = model["merges"]!.AsArray();
        var merge = merges.First(m => m!.GetValue<string>().Replace(" ", "") == last);
        merges.Remove(merge);
        json["added_tokens"]!.AsArray().Add(new JsonObject
        {
            ["id"] = id, ["content"] = CallText, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = false,
        });
        File.WriteAllText(path, json.ToJsonString());
        return (dir, id);
    }
}

public sealed class ToolCallingTests(ToolModelFixture fixture) : IClassFixture<ToolModelFixture>
{
    private readonly TestServer _gw = fixture.Gateway;
    private ChatClient Chat => _gw.OpenAI().GetChatClient(TestServer.ModelName);

    private static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "Current weather in a city",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    /// <summary>Greedy with the call token pushed to the top; the stop string ends the reply at the close tag.</summary>
    private ChatCompletionOptions ForcedCall()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8, StopSequences = { "</tool_call>" }, Tools = { Weather } };
        options.LogitBiases.Add(fixture.CallTokenId, 100);
        return options;
    }

    [Fact(Timeout = 120_000)]
    public async Task A_tool_call_round_trips_through_the_sdk_with_a_tool_reply()
    {
        var user = new UserChatMessage("What is the weather in Paris?");
        ChatCompletion first = await Chat.CompleteChatAsync([user], ForcedCall());

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.Empty(first.Content);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal(ChatToolCallKind.Function, call.Kind);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("call_", call.Id);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.GetProperty("city").GetString());

        // The client runs the tool and sends the result back: the assistant call and the tool reply go through the template.
        ChatMessage[] history = [user, new AssistantChatMessage(first.ToolCalls), new ToolChatMessage(call.Id, "18 degrees and sunny")];
        ChatCompletion second = await Chat.CompleteChatAsync(history, new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 4, Tools = { Weather } });
        Assert.Contains(second.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.Empty(second.ToolCalls);

        // /tokenize renders the same conversation: its prompt is what the second request ran on.
        var (tokenized, body) = await _gw.PostAsync("/tokenize", new
        {
            messages = new object[]
            {
                new { role = "user", content = "What is the weather in Paris?" },
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = call.Id, type = "function", function = new { name = "get_weather", arguments = call.FunctionArguments.ToString() } } } },
                new { role = "tool", tool_call_id = call.Id, content = "18 degrees and sunny" },
            },
            tools = new[] { new { type = "function", function = new { name = "get_weather", description = "Current weather in a city", parameters = JsonDocument.Parse(Weather.FunctionParameters.ToString()).RootElement } } },
        });
        Assert.Equal(HttpStatusCode.OK, tokenized.StatusCode);
        Assert.Equal(second.Usage.InputTokenCount, body.GetProperty("count").GetInt32());
        var prompt = _gw.Engine.Tokenizer.Decode([.. body.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())], skipSpecialTokens: false);
        Assert.Contains("\"name\": \"get_weather\"", prompt);              // the tools, through tojson
        Assert.Contains("\"city\": \"Paris\"", prompt);                   // the assistant's call, arguments as a mapping
        Assert.Contains("<tool_response>\n18 degrees and sunny\n</tool_response>", prompt);
        Assert.EndsWith("<|im_start|>assistant\n", prompt);
    }

    [Fact(Timeout = 120_000)]
    public async Task Streaming_sends_the_call_as_delta_tool_calls_and_finishes_with_tool_calls()
    {
        var calls = new Dictionary<int, (string? Id, string? Name, System.Text.StringBuilder Args)>();
        var content = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], ForcedCall()))
        {
            foreach (var part in update.ContentUpdate) content.Append(part.Text);
            foreach (var tc in update.ToolCallUpdates)
            {
                if (!calls.TryGetValue(tc.Index, out var c)) calls[tc.Index] = c = (null, null, new());
                calls[tc.Index] = (tc.ToolCallId ?? c.Id, tc.FunctionName ?? c.Name, c.Args.Append(tc.FunctionArgumentsUpdate?.ToString()));
            }
            if (update.FinishReason is { } f) finish = f;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal("", content.ToString());
        var (id, name, args) = Assert.Single(calls).Value;
        Assert.StartsWith("call_", id);
        Assert.Equal("get_weather", name);
        Assert.Equal("Paris", JsonDocument.Parse(args.ToString()).RootElement.GetProperty("city").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Streaming_chunks_have_openais_shape_id_type_and_name_first_then_arguments()
    {
        var response = await _gw.PostJsonAsync("/v1/chat/completions", JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", content = "Weather?" } },
            tools = new[] { new { type = "function", function = new { name = "get_weather", parameters = new { type = "object" } } } },
            logit_bias = new Dictionary<string, int> { [fixture.CallTokenId.ToString()] = 100 },
            stop = "</tool_call>", temperature = 0, max_tokens = 8, stream = true,
        }));
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        var toolChunks = events.Where(e => e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("tool_calls", out _)).ToList();
        Assert.Equal(2, toolChunks.Count);
        var head = toolChunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.Equal(0, head.GetProperty("index").GetInt32());
        Assert.Equal("function", head.GetProperty("type").GetString());
        Assert.Equal("get_weather", head.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", head.GetProperty("function").GetProperty("arguments").GetString());
        var tail = toolChunks[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.False(tail.TryGetProperty("id", out _));
        Assert.Equal("{\"city\": \"Paris\"}", tail.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("tool_calls", events[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Tool_choice_none_leaves_the_text_as_content()
    {
        var options = ForcedCall();
        options.ToolChoice = ChatToolChoice.CreateNoneChoice();
        ChatCompletion c = await Chat.CompleteChatAsync([new UserChatMessage("Weather?")], options);
        Assert.Equal(ChatFinishReason.Stop, c.FinishReason);
        Assert.Empty(c.ToolCalls);
        Assert.StartsWith("<tool_call>", c.Content[0].Text);
    }

    [Fact(Timeout = 120_000)]
    public async Task Parallel_tool_calls_false_still_returns_the_call()
    {
        var options = ForcedCall();
        options.AllowParallelToolCalls = false;
        ChatCompletion c = await Chat.CompleteChatAsync([new UserChatMessage("Weather?")], options);
        Assert.Equal("get_weather", Assert.Single(c.ToolCalls).FunctionName);
    }
}
