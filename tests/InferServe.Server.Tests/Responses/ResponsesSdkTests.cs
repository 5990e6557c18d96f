using InferServe.TestSupport.Server;
using OpenAI.Responses;

namespace InferServe.Server.Tests.Responses;

/// <summary>The official OpenAI .NET SDK's ResponsesClient against /v1/responses, as it would talk to api.openai.com.</summary>
public sealed class ResponsesSdkTests(ToolModelFixture fixture) : IClassFixture<ToolModelFixture>
{
    internal const string PersonSchema = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","minimum":0}},
         "required":["name","age"],"additionalProperties":false}
        """;
    internal const string CitySchema = """{"type":"object","properties":{"city":{"type":"string","maxLength":12}},"required":["city"],"additionalProperties":false}""";

    private readonly TestServer _gw = fixture.Gateway;
    private ResponsesClient Client => _gw.OpenAI().GetResponsesClient();
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static CreateResponseOptions Options(string input, int maxTokens = 16) => new(TestServer.ModelName, [ResponseItem.CreateUserMessageItem(input)])
    {
        MaxOutputTokenCount = maxTokens, Temperature = 0,
    };

    [Fact(Timeout = 60_000)]
    public async Task Create_with_text_returns_a_response_with_output_text_and_usage()
    {
        var options = Options("Tell me a story");
        options.Instructions = "Be brief.";
        options.Metadata["case"] = "text";
        ResponseResult r = await Client.CreateResponseAsync(options, Ct);
        Assert.Equal("text", r.Metadata["case"]);
        Assert.StartsWith("resp_", r.Id);
        Assert.Equal(TestServer.ModelName, r.Model);
        Assert.Contains(r.Status, new ResponseStatus?[] { ResponseStatus.Completed, ResponseStatus.Incomplete });
        Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(r.OutputItems));
        Assert.False(string.IsNullOrEmpty(r.GetOutputText()));
        Assert.True(r.Usage.InputTokenCount > 0);
        Assert.InRange(r.Usage.OutputTokenCount, 1, 16);
    }

    [Fact(Timeout = 60_000)]
    public async Task Streamed_text_assembled_from_the_events_equals_the_non_streamed_text_at_temperature_0()
    {
        ResponseResult whole = await Client.CreateResponseAsync(Options("Once upon a time", 24), Ct);
        var text = new System.Text.StringBuilder();
        var sequence = new List<int>();
        ResponseResult? final = null;
        var streaming = Options("Once upon a time", 24);
        streaming.StreamingEnabled = true;
        await foreach (var update in await Client.CreateResponseStreamingAsync(streaming, Ct))
        {
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta) text.Append(delta.Delta);
            if (update is StreamingResponseCompletedUpdate completed) final = completed.Response;
            if (update is StreamingResponseIncompleteUpdate incomplete) final = incomplete.Response;
        }
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal(whole.GetOutputText(), text.ToString());
        Assert.NotNull(final);
        Assert.Equal(whole.Usage.OutputTokenCount, final.Usage.OutputTokenCount);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_forced_function_call_has_arguments_that_validate_against_its_schema()
    {
        JsonSchemaValidator.RequirePeer();
        var options = Options("Weather in Paris?", 100);
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(CitySchema), strictModeEnabled: true, "Weather in a city"));
        options.ToolChoice = ResponseToolChoice.CreateFunctionChoice("get_weather");
        ResponseResult r = await Client.CreateResponseAsync(options, Ct);
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(r.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        Assert.False(string.IsNullOrEmpty(call.CallId));
        Assert.All(await JsonSchemaValidator.ValidateAsync([(CitySchema, call.FunctionArguments.ToString())]), Assert.Null);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_json_schema_text_format_gives_output_that_validates()
    {
        JsonSchemaValidator.RequirePeer();
        var options = Options("Describe a person", 200);
        options.TextOptions = new ResponseTextOptions
        {
            TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(PersonSchema), jsonSchemaFormatDescription: null, jsonSchemaIsStrict: true),
        };
        ResponseResult r = await Client.CreateResponseAsync(options, Ct);
        Assert.Equal(ResponseStatus.Completed, r.Status);
        Assert.All(await JsonSchemaValidator.ValidateAsync([(PersonSchema, r.GetOutputText())]), Assert.Null);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_second_turn_by_previous_response_id_reports_cached_input_tokens()
    {
        ResponseResult first = await Client.CreateResponseAsync(Options("Once upon a time there was a little dog who lived in a big red house by the sea", 8), Ct);
        var next = Options("What happened next?", 8);
        next.PreviousResponseId = first.Id;
        ResponseResult second = await Client.CreateResponseAsync(next, Ct);
        Assert.Equal(first.Id, second.PreviousResponseId);
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount);
        Assert.True(second.Usage.InputTokenDetails.CachedTokenCount > 0, $"cached {second.Usage.InputTokenDetails.CachedTokenCount}");

        ResponseResult fetched = await Client.GetResponseAsync(second.Id, Ct);
        Assert.Equal(second.GetOutputText(), fetched.GetOutputText());
        var deleted = await Client.DeleteResponseAsync(second.Id, Ct);
        Assert.True(deleted.Value.Deleted);
    }
}
