using System.ClientModel;
using System.Net;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;
using OpenAI.Chat;

namespace InferServe.Server.Tests;

/// <summary>
/// <c>tool_choice: "required"</c> and a named function are enforced with the grammar engine. The model has random weights
/// and never calls a tool by itself (no logit bias here), so a valid call in every reply is the constraint's doing. The
/// arguments are checked against the function's schema by python3-jsonschema.
/// </summary>
public sealed class ForcedToolChoiceTests(ToolModelFixture fixture) : IClassFixture<ToolModelFixture>
{
    private const string FlightSchema = """
        {"type":"object","properties":{"from":{"type":"string","maxLength":8},"to":{"enum":["PAR","LON","NYC"]},
         "passengers":{"type":"integer","minimum":1,"maximum":9},"window":{"type":"boolean"}},
         "required":["from","to","passengers"],"additionalProperties":false}
        """;
    private const string NoArgumentsSchema = """{"type":"object","maxProperties":0}""";

    private static readonly ChatTool BookFlight = ChatTool.CreateFunctionTool("book_flight", "Books a flight", BinaryData.FromString(FlightSchema));
    private static readonly ChatTool GetTime = ChatTool.CreateFunctionTool("get_time", "The current time");

    private readonly TestServer _gw = fixture.Gateway;
    private ChatClient Chat => _gw.OpenAI().GetChatClient(TestServer.ModelName);

    private static ChatCompletionOptions Options(ChatToolChoice choice, float temperature, bool parallel) => new()
    {
        Temperature = temperature, MaxOutputTokenCount = 400, Tools = { BookFlight, GetTime }, ToolChoice = choice, AllowParallelToolCalls = parallel,
    };

    private static string SchemaOf(string name) => name == "book_flight" ? FlightSchema : NoArgumentsSchema;

    private static async Task AssertArgumentsValidate(IEnumerable<(string Name, string Arguments)> calls)
    {
        var verdicts = await JsonSchemaValidator.ValidateAsync([.. calls.Select(c => (SchemaOf(c.Name), c.Arguments))]);
        Assert.All(verdicts, Assert.Null);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(0f, true)]
    [InlineData(1f, false)]
    public async Task Required_always_yields_a_call_to_an_offered_tool_with_valid_arguments(float temperature, bool parallel)
    {
        JsonSchemaValidator.RequirePeer();
        var calls = new List<(string, string)>();
        for (int i = 0; i < 4; i++)
        {
            ChatCompletion c = await Chat.CompleteChatAsync([new UserChatMessage($"Plan trip {i}")], Options(ChatToolChoice.CreateRequiredChoice(), temperature, parallel));
            Assert.Equal(ChatFinishReason.ToolCalls, c.FinishReason);
            Assert.Empty(c.Content);
            if (parallel) Assert.NotEmpty(c.ToolCalls);
            else Assert.Single(c.ToolCalls);
            foreach (var call in c.ToolCalls)
            {
                Assert.Contains(call.FunctionName, new[] { "book_flight", "get_time" });
                calls.Add((call.FunctionName, call.FunctionArguments.ToString()));
            }
        }
        await AssertArgumentsValidate(calls);
    }

    [Theory(Timeout = 300_000)]
    [InlineData(0f)]
    [InlineData(1f)]
    public async Task A_named_function_is_the_one_called_exactly_once_with_valid_arguments(float temperature)
    {
        JsonSchemaValidator.RequirePeer();
        var calls = new List<(string, string)>();
        foreach (var name in new[] { "book_flight", "get_time", "book_flight" })
        {
            ChatCompletion c = await Chat.CompleteChatAsync([new UserChatMessage("Hello")], Options(ChatToolChoice.CreateFunctionChoice(name), temperature, parallel: true));
            Assert.Equal(ChatFinishReason.ToolCalls, c.FinishReason);
            var call = Assert.Single(c.ToolCalls);
            Assert.Equal(name, call.FunctionName);
            calls.Add((call.FunctionName, call.FunctionArguments.ToString()));
        }
        await AssertArgumentsValidate(calls);
    }

    [Fact(Timeout = 300_000)]
    public async Task Streaming_a_forced_call_sends_delta_tool_calls()
    {
        JsonSchemaValidator.RequirePeer();
        var calls = new Dictionary<int, (string? Name, System.Text.StringBuilder Args)>();
        var content = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        var options = Options(ChatToolChoice.CreateFunctionChoice("book_flight"), 1f, parallel: false);
        await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("Fly me")], options))
        {
            foreach (var part in update.ContentUpdate) content.Append(part.Text);
            foreach (var tc in update.ToolCallUpdates)
            {
                if (!calls.TryGetValue(tc.Index, out var c)) calls[tc.Index] = c = (null, new());
                calls[tc.Index] = (tc.FunctionName ?? c.Name, c.Args.Append(tc.FunctionArgumentsUpdate?.ToString()));
            }
            if (update.FinishReason is { } f) finish = f;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal("", content.ToString());
        var (name, args) = Assert.Single(calls).Value;
        Assert.Equal("book_flight", name);
        await AssertArgumentsValidate([(name!, args.ToString())]);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_parameter_schema_the_grammar_engine_refuses_is_a_400_naming_the_tool()
    {
        var odd = ChatTool.CreateFunctionTool("set_volume", "Sets the volume",
            BinaryData.FromString("""{"type":"object","properties":{"level":{"type":"integer","multipleOf":101}}}"""));
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, Tools = { odd }, ToolChoice = ChatToolChoice.CreateRequiredChoice() };
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Chat.CompleteChatAsync([new UserChatMessage("Louder")], options));
        Assert.Equal(400, e.Status);
        Assert.Contains("'set_volume'", e.Message);
        Assert.Contains("multipleOf", e.Message);

        // Under "auto" nothing is enforced, so the same tool is accepted.
        options.ToolChoice = ChatToolChoice.CreateAutoChoice();
        ChatCompletion c = await Chat.CompleteChatAsync([new UserChatMessage("Louder")], options);
        Assert.Contains(c.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
    }

    [Fact(Timeout = 120_000)]
    public async Task A_forced_choice_with_a_response_format_is_a_400()
    {
        var (response, body) = await _gw.PostAsync("/v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "Hi" } },
            tools = new[] { new { type = "function", function = new { name = "get_time" } } },
            tool_choice = "required",
            response_format = new { type = "json_object" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("tool_choice", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("response_format", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Theory(Timeout = 300_000)]
    [InlineData("mistral")]
    [InlineData("llama3")]
    public async Task Every_format_is_enforced(string format)
    {
        JsonSchemaValidator.RequirePeer();
        await using var gw = await TestServer.StartAsync(s =>
        {
            s.Engine.Model = TinyModels.Path(InferServe.ModelGen.ModelSpec.Tiny);
            s.ChatTemplate = ToolModelFixture.Template;
            s.ToolCallParser = format;
        });
        var chat = gw.OpenAI().GetChatClient(TestServer.ModelName);
        var calls = new List<(string, string)>();
        foreach (var (choice, parallel) in new[] { (ChatToolChoice.CreateRequiredChoice(), true), (ChatToolChoice.CreateFunctionChoice("book_flight"), false) })
        {
            ChatCompletion c = await chat.CompleteChatAsync([new UserChatMessage("Trip")], Options(choice, 0f, parallel));
            Assert.Equal(ChatFinishReason.ToolCalls, c.FinishReason);
            Assert.NotEmpty(c.ToolCalls);
            calls.AddRange(c.ToolCalls.Select(t => (t.FunctionName, t.FunctionArguments.ToString())));
        }
        Assert.Equal("book_flight", calls[^1].Item1);
        await AssertArgumentsValidate(calls);
    }
}
