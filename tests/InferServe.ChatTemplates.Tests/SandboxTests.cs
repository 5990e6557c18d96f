namespace InferServe.ChatTemplates.Tests;

/// <summary>The sandbox's limits: time, loop iterations, call depth and output size, each failing with a message that names it.</summary>
public sealed class SandboxTests
{
    private static readonly ChatMessage[] OneUser = [new("user", "hi")];

    // The output tests check which limit stops a template; on a loaded machine the clock could stop it first.
    private static readonly ChatTemplateOptions NoClock = new() { MaxRenderTime = Timeout.InfiniteTimeSpan };

    private static ChatTemplateException Fails(string source, ChatTemplateOptions? options = null)
    {
        var ex = Assert.Throws<ChatTemplateException>(() =>
            ChatTemplate.Parse(source, options).Render(OneUser, addGenerationPrompt: false, "<s>", "</s>"));
        Assert.Equal(ChatTemplateErrorKind.LimitExceeded, ex.Kind);
        return ex;
    }

    [Fact(Timeout = 60_000)]
    public void Exponential_recursion_within_the_depth_limit_is_stopped_by_the_clock()
    {
        var options = new ChatTemplateOptions { MaxRenderTime = TimeSpan.FromMilliseconds(200) };
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var ex = Fails("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}", options);
        Assert.Contains("time limit of 200 ms", ex.Message);
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
    }

    [Fact(Timeout = 60_000)]
    public void Loops_of_continue_are_stopped_by_the_clock_or_the_iteration_limit()
    {
        var ex = Fails("{% for i in range(900000) %}{% continue %}{% endfor %}", new ChatTemplateOptions { MaxRenderTime = TimeSpan.FromMilliseconds(100) });
        Assert.Matches("time limit|loop iterations", ex.Message);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("{{ 'x' * 1000000000 }}")]
    [InlineData("{{ 1000000000 * 'xy' }}")]
    [InlineData("{{ ('x' * 1000000) | replace('', 'yyyyyyyy') }}")]
    [InlineData("{{ ('\n' * 1000000) | indent(1000, true, true) }}")]
    [InlineData("{% set s = 'x' * 4000000 %}{{ [s, s, s] | join('') }}")]
    [InlineData("{% set s = 'x' * 4000000 %}{{ [s, s, s] }}")]
    [InlineData("{% set s = 'x' * 4000000 %}{{ [s, s, s] | tojson }}")]
    [InlineData("{% set s = 'x' * 4000000 %}{{ [s, s, s] ~ '' }}")]
    public void Output_is_bounded_before_a_huge_string_is_built(string source)
    {
        var ex = Fails(source, NoClock);
        Assert.Contains("output exceeded", ex.Message);
    }

    [Fact(Timeout = 60_000)]
    public void Doubling_a_string_stops_at_the_output_limit()
    {
        var ex = Fails("{% set ns = namespace(s='x') %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", NoClock);
        Assert.Contains("output exceeded", ex.Message);
    }

    [Fact]
    public void String_repetition_works_within_the_limits() =>
        Assert.Equal("ababab|", ChatTemplate.Parse("{{ 'ab' * 3 }}|{{ 'x' * 0 }}").Render(OneUser, false, null, null));

    [Fact(Timeout = 60_000)]
    public void Unique_over_a_long_list_is_stopped_by_the_clock()
    {
        var ex = Fails("{{ range(90000) | unique | length }}", new ChatTemplateOptions { MaxRenderTime = TimeSpan.FromMilliseconds(100) });
        Assert.Contains("time limit", ex.Message);
    }
}
