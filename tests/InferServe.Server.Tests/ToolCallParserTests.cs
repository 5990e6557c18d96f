using System.Text.Json;
using InferServe.Server.Tools;

namespace InferServe.Server.Tests;

/// <summary>
/// Tool-call parsing on outputs written from each format's documentation (Qwen2.5/Hermes function calling, Meta's Llama 3.1
/// JSON tool calling, Mistral's function calling), including malformed ones, which must come back as plain content.
/// Every case runs both whole and streamed one character at a time, and the two must agree.
/// </summary>
public sealed class ToolCallParserTests
{
    public sealed record Case(string Name, string Parser, string Output, string? Content, params string[] Calls)
    {
        public override string ToString() => Name;
    }

    private const string Weather = """{"location": "San Francisco, CA, USA"}""";
    private const string WeatherDate = """{"location": "San Francisco, CA, USA", "date": "2024-10-01"}""";

    public static TheoryData<Case> Cases => new(
        // Qwen2.5 / Hermes 2 Pro
        new Case("hermes: one call", "hermes",
            "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": " + Weather + "}\n</tool_call>",
            null, "get_current_temperature " + Weather),
        new Case("hermes: parallel calls", "hermes",
            "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": " + Weather + "}\n</tool_call>\n<tool_call>\n{\"name\": \"get_temperature_date\", \"arguments\": " + WeatherDate + "}\n</tool_call>",
            null, "get_current_temperature " + Weather, "get_temperature_date " + WeatherDate),
        new Case("hermes: content before the call", "hermes",
            "Let me check the weather.\n<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": " + Weather + "}\n</tool_call>",
            "Let me check the weather.\n", "get_current_temperature " + Weather),
        new Case("hermes: close tag cut off by a stop string", "hermes",
            "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": " + Weather + "}\n",
            null, "get_current_temperature " + Weather),
        new Case("hermes: arguments as a JSON string", "hermes",
            "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"x\\\": 1}\"}</tool_call>",
            null, "f {\"x\": 1}"),
        new Case("hermes: no arguments", "hermes", "<tool_call>{\"name\": \"now\"}</tool_call>", null, "now {}"),
        new Case("hermes: plain answer", "hermes", "The weather is sunny.", "The weather is sunny."),
        new Case("hermes: malformed JSON is content", "hermes",
            "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"SF\"}\n</tool_call>",
            "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"SF\"}\n</tool_call>"),
        new Case("hermes: a call without a name is content", "hermes",
            "<tool_call>{\"arguments\": {}}</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>"),
        new Case("hermes: truncated call is content", "hermes",
            "<tool_call>\n{\"name\": \"get_current_temperature\", \"argu", "<tool_call>\n{\"name\": \"get_current_temperature\", \"argu"),
        new Case("hermes: arguments that are not an object are content", "hermes",
            "<tool_call>{\"name\": \"f\", \"arguments\": [1, 2]}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": [1, 2]}</tool_call>"),
        new Case("hermes: a bad second call keeps the first and returns the rest as content", "hermes",
            "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n<tool_call>{oops}</tool_call>",
            "\n<tool_call>{oops}</tool_call>", "a {}"),
        new Case("hermes: a lone '<' is content", "hermes", "1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),

        // Llama 3.1 / 3.2 / 3.3 JSON
        new Case("llama3: one call", "llama3",
            "{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"San Francisco, CA\", \"unit\": \"Fahrenheit\"}}",
            null, "get_current_conditions {\"location\": \"San Francisco, CA\", \"unit\": \"Fahrenheit\"}"),
        new Case("llama3: after the python tag", "llama3",
            "<|python_tag|>{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"Menlo Park\"}}",
            null, "get_current_conditions {\"location\": \"Menlo Park\"}"),
        new Case("llama3: 'arguments' accepted for 'parameters'", "llama3",
            "  {\"name\": \"f\", \"arguments\": {\"a\": true}}", null, "f {\"a\": true}"),
        new Case("llama3: several calls separated by ';'", "llama3",
            "{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": {\"y\": \"two\"}}",
            null, "a {\"x\": 1}", "b {\"y\": \"two\"}"),
        new Case("llama3: prose is content", "llama3", "The capital of France is Paris.", "The capital of France is Paris."),
        new Case("llama3: prose mentioning JSON later is content", "llama3",
            "Here: {\"name\": \"f\", \"parameters\": {}}", "Here: {\"name\": \"f\", \"parameters\": {}}"),
        new Case("llama3: a JSON answer that is not a call is content", "llama3", "{\"answer\": 42}", "{\"answer\": 42}"),
        new Case("llama3: truncated call is content", "llama3",
            "{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"San", "{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"San"),
        new Case("llama3: python code after the tag is content", "llama3",
            "<|python_tag|>print(\"hi\")", "<|python_tag|>print(\"hi\")"),

        // Mistral v3 tokenizer
        new Case("mistral: one call", "mistral",
            "[TOOL_CALLS][{\"name\": \"get_current_weather\", \"arguments\": {\"location\": \"Paris, France\", \"format\": \"celsius\"}}]",
            null, "get_current_weather {\"location\": \"Paris, France\", \"format\": \"celsius\"}"),
        new Case("mistral: parallel calls", "mistral",
            "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": \"b\", \"arguments\": {}}]",
            null, "a {\"x\": 1}", "b {}"),
        new Case("mistral: plain answer", "mistral", "It is 20 degrees in Paris.", "It is 20 degrees in Paris."),
        new Case("mistral: malformed array is content", "mistral",
            "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {]", "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {]"),
        new Case("mistral: a complete call in an array cut off before ']' still counts", "mistral",
            "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}", null, "a {}"),
        new Case("mistral: the marker alone is content", "mistral", "[TOOL_CALLS]", "[TOOL_CALLS]"));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Output_splits_into_content_and_calls_whole_and_streamed(Case c)
    {
        var whole = Run(c.Parser, [c.Output]);
        var streamed = Run(c.Parser, c.Output.Select(ch => ch.ToString()));
        foreach (var (content, calls) in new[] { whole, streamed })
        {
            Assert.Equal(c.Content ?? "", content);
            Assert.Equal(c.Calls.Length, calls.Count);
            for (int i = 0; i < calls.Count; i++)
            {
                var expected = c.Calls[i];
                int space = expected.IndexOf(' ');
                Assert.Equal(expected[..space], calls[i].Name);
                Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(expected[(space + 1)..]).RootElement, JsonDocument.Parse(calls[i].Arguments).RootElement),
                    $"arguments {calls[i].Arguments} != {expected[(space + 1)..]}");
            }
        }
    }

    [Fact]
    public void Streaming_never_leaks_the_marker_into_content_and_emits_each_call_once_when_it_closes()
    {
        var extractor = new ToolCallExtractor(new HermesToolCallParser(), parallel: true);
        var output = "Checking.<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call><tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>";
        var content = new System.Text.StringBuilder();
        var emittedAt = new List<int>();
        var calls = new List<ParsedToolCall>();
        for (int i = 0; i < output.Length; i++)
        {
            int before = calls.Count;
            content.Append(extractor.Push(output[i].ToString(), calls));
            if (calls.Count > before) emittedAt.Add(i);
            Assert.DoesNotContain("<", content.ToString());
        }
        content.Append(extractor.Finish(calls));
        Assert.Equal("Checking.", content.ToString());
        Assert.Equal(new[] { "a", "b" }, calls.Select(c => c.Name));
        // Each call came out as soon as its closing tag was complete, not at the end.
        Assert.Equal(output.IndexOf("</tool_call>", StringComparison.Ordinal) + "</tool_call>".Length - 1, emittedAt[0]);
        Assert.Equal(output.Length - 1, emittedAt[1]);
        Assert.NotEqual(calls[0].Id, calls[1].Id);
    }

    [Fact]
    public void Without_parallel_calls_only_the_first_call_is_kept()
    {
        var (content, calls) = Run("mistral", ["[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {}}]"], parallel: false);
        Assert.Equal("", content);
        Assert.Equal("a", Assert.Single(calls).Name);
    }

    [Fact]
    public void Mistral_call_ids_are_nine_alphanumerics_as_its_templates_require()
    {
        var (_, calls) = Run("mistral", ["[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}]"]);
        Assert.Matches("^[a-zA-Z0-9]{9}$", Assert.Single(calls).Id);
    }

    [Theory]
    [InlineData("{% if tools %}<tool_call>{% endif %}", "hermes")]
    [InlineData("{{ '[AVAILABLE_TOOLS]' }}{{ '[TOOL_CALLS]' }}", "mistral")]
    [InlineData("{{ '<|python_tag|>' }}", "llama3")]
    [InlineData("{% for m in messages %}{{ m.content }}<|eot_id|>{% endfor %}Respond with {\"name\": function name, \"parameters\": ...}", "llama3")]
    [InlineData("{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}", null)]
    public void The_format_is_recognised_from_the_chat_template(string template, string? expected)
    {
        Assert.Equal(expected, ToolCallParsers.Resolve("auto", template)?.Name);
        Assert.Equal("mistral", ToolCallParsers.Resolve("mistral", template)?.Name);
        Assert.Null(ToolCallParsers.Resolve("none", template));
        Assert.Throws<ArgumentException>(() => ToolCallParsers.Resolve("gpt", template));
    }

    private static (string Content, List<ParsedToolCall> Calls) Run(string parser, IEnumerable<string> deltas, bool parallel = true)
    {
        var extractor = new ToolCallExtractor(ToolCallParsers.Create(parser)!, parallel);
        var calls = new List<ParsedToolCall>();
        var content = new System.Text.StringBuilder();
        foreach (var d in deltas) content.Append(extractor.Push(d, calls));
        content.Append(extractor.Finish(calls));
        Assert.Equal(extractor.Calls, calls);
        return (content.ToString(), calls);
    }
}
