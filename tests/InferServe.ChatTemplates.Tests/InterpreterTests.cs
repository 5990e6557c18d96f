namespace InferServe.ChatTemplates.Tests;

/// <summary>Behaviour the gateway relies on beyond reference parity: errors, limits, clock, Jinja supersets.</summary>
public sealed class InterpreterTests
{
    private static readonly ChatMessage[] OneUser = [new("user", "hi")];

    private static string Render(string source, IReadOnlyDictionary<string, object?>? extra = null, ChatTemplateOptions? options = null) =>
        ChatTemplate.Parse(source, options).Render(OneUser, addGenerationPrompt: false, "<s>", "</s>", extra);

    [Theory]
    [InlineData("line1\n{{ 1 + }}", 2, 8)]
    [InlineData("ok\nok {% if x %}never closed", 2, 26)]
    [InlineData("{% frobnicate %}", 1, 4)]
    [InlineData("{{ 'unterminated }}", 1, 4)]
    [InlineData("a\n\n  {{ x $ y }}", 3, 8)]
    public void Syntax_errors_report_line_and_column_in_the_original_source(string source, int line, int column)
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(source));
        Assert.Equal(ChatTemplateErrorKind.Syntax, ex.Kind);
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.Contains($"line {line}, column {column}", ex.Message);
    }

    [Fact]
    public void Raise_exception_surfaces_the_template_message_as_a_raised_error()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render("{{ raise_exception('Roles must alternate') }}"));
        Assert.Equal(ChatTemplateErrorKind.Raised, ex.Kind);
        Assert.Equal("Roles must alternate", ex.Message);
    }

    [Fact]
    public void Undefined_values_are_falsy_empty_and_not_defined()
    {
        Assert.Equal("[]", Render("[{{ nope }}]"));
        Assert.Equal("[]", Render("[{{ nope.deeper }}{{ messages[5] }}]"));
        Assert.Equal("no", Render("{% if nope %}yes{% else %}no{% endif %}"));
        Assert.Equal("false", Render("{{ nope is defined }}"));
        Assert.Equal("0", Render("{{ nope | length }}"));
        Assert.Equal("", Render("{% for x in nope %}{{ x }}{% endfor %}"));
        Assert.Equal("fallback", Render("{{ nope | d('fallback') }}"));
    }

    [Fact]
    public void Arithmetic_on_undefined_is_a_runtime_error_with_position()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render("\n{{ 'a' + nope }}"));
        Assert.Equal(ChatTemplateErrorKind.Runtime, ex.Kind);
        Assert.Equal(2, ex.Line);
    }

    [Fact]
    public void Runaway_loops_hit_the_iteration_limit()
    {
        var options = new ChatTemplateOptions { MaxLoopIterations = 10_000 };
        var ex = Assert.Throws<ChatTemplateException>(() =>
            Render("{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}", options: options));
        Assert.Equal(ChatTemplateErrorKind.LimitExceeded, ex.Kind);
        Assert.Equal(ChatTemplateErrorKind.LimitExceeded,
            Assert.Throws<ChatTemplateException>(() => Render("{{ range(100000000) | length }}", options: options)).Kind);
    }

    [Fact]
    public void Recursive_macros_hit_the_call_depth_limit_instead_of_overflowing_the_stack()
    {
        var ex = Assert.Throws<ChatTemplateException>(() =>
            Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"));
        Assert.Equal(ChatTemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void String_doubling_hits_the_output_limit()
    {
        var options = new ChatTemplateOptions { MaxOutputChars = 1 << 20 };
        var ex = Assert.Throws<ChatTemplateException>(() =>
            Render("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", options: options));
        Assert.Equal(ChatTemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void Deeply_nested_syntax_is_rejected_at_parse_time()
    {
        string source = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(source));
        Assert.Equal(ChatTemplateErrorKind.Syntax, ex.Kind);
        Assert.Equal("1", Render("{{ ((((1)))) }}"));
    }

    [Fact]
    public void Self_referencing_namespace_cannot_hang_tojson()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}"));
        Assert.Equal(ChatTemplateErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void Strftime_now_uses_the_configured_clock()
    {
        var clock = new FixedClock(new DateTimeOffset(2026, 7, 4, 9, 5, 0, TimeSpan.Zero));
        var options = new ChatTemplateOptions { TimeProvider = clock };
        Assert.Equal("04 Jul 2026|July|09:05|%", Render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B') }}|{{ strftime_now('%H:%M') }}|{{ strftime_now('%%') }}", options: options));
    }

    [Fact]
    public void Bos_and_eos_are_undefined_when_not_given()
    {
        var template = ChatTemplate.Parse("{{ bos_token is defined }}{{ eos_token is defined }}{{ add_generation_prompt }}");
        Assert.Equal("falsefalsetrue", template.Render(OneUser, true, null, null));
    }

    [Fact]
    public void Messages_expose_tool_fields_only_when_set()
    {
        var template = ChatTemplate.Parse("{% for m in messages %}{{ 'tool_calls' in m }}{{ m.tool_call_id }}{{ m.content is none }};{% endfor %}");
        ChatMessage[] messages =
        [
            new("user", "q"),
            new("assistant", null) { ToolCalls = [new ChatToolCall("f", "{\"a\":1}", "id1")] },
            new("tool", "r") { ToolCallId = "id1" },
        ];
        Assert.Equal("falsefalse;truetrue;falseid1false;", template.Render(messages, false, null, null));
    }

    [Fact]
    public void Extra_variables_accept_plain_dotnet_values()
    {
        var extra = new Dictionary<string, object?>
        {
            ["flag"] = true,
            ["n"] = 3,
            ["items"] = new[] { "a", "b" },
            ["map"] = new Dictionary<string, object?> { ["k"] = 1.5 },
        };
        Assert.Equal("true 3 a,b 1.5", Render("{{ flag }} {{ n }} {{ items | join(',') }} {{ map.k }}", extra));
    }

    [Fact]
    public void Strip_with_chars_follows_python()
    {
        Assert.Equal("abc|abcxx|xxabc", Render("{{ 'xxabcxx'.strip('x') }}|{{ 'xxabcxx'.lstrip('x') }}|{{ 'xxabcxx'.rstrip('x') }}"));
    }

    [Fact]
    public void A_template_is_reusable_and_renders_concurrently()
    {
        var template = ChatTemplate.Parse("{% for m in messages %}{{ m.content }}{% endfor %}");
        var results = Enumerable.Range(0, 32).AsParallel()
            .Select(i => template.Render([new ChatMessage("user", i.ToString())], false, null, null)).ToList();
        Assert.Equal(Enumerable.Range(0, 32).Select(i => i.ToString()), results);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }
}
