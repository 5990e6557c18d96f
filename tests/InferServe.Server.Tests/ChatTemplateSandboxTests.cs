using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>
/// Chat templates are code from model repositories: a template that loops forever, recurses without end or writes a
/// gigabyte is stopped by the sandbox within its budget, its request fails with a message naming the limit, and the
/// server goes on serving.
/// </summary>
public sealed class ChatTemplateSandboxTests
{
    private static readonly object[] Hello = [new { role = "user", content = "Hello" }];

    public static TheoryData<string, string, string> RunawayTemplates => new()
    {
        // 10^18 iterations if nothing stopped it.
        { "infinite loop", "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}x", "loop iterations" },
        // Recursion that never reaches a base case.
        { "deep recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested deeper than" },
        // Two calls per level: 2^40 calls, each level within the depth limit; only the clock stops it.
        { "exponential recursion", "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}", "time limit" },
        // A 1 GB string in one expression, and by doubling.
        { "1 GB string", "{{ 'x' * 1000000000 }}", "output exceeded" },
        { "1 GB by doubling", "{% set ns = namespace(s='x') %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", "exceeded" },
        // 10^9 characters from nested loops.
        { "1 GB from nested loops", "{% for i in range(100000) %}{% for j in range(10000) %}{{ 'xxxxxxxxxx' }}{% endfor %}{% endfor %}", "exceeded" },
    };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(RunawayTemplates))]
    public async Task A_runaway_operator_template_is_a_500_naming_the_limit_and_the_server_keeps_serving(string name, string template, string cause)
    {
        await using var gw = await TestServer.StartAsync(s => s.ChatTemplate = template);
        var started = Stopwatch.GetTimestamp();
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = Hello, max_tokens = 1 });
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(500, (int)response.StatusCode);
        var error = body.GetProperty("error");
        Assert.Equal("chat_template_limit", error.GetProperty("code").GetString());
        Assert.Contains(cause, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"{name}: stopped after {elapsed.TotalSeconds:F1} s");
        await AssertServesAsync(gw);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_models_own_template_over_budget_is_a_400_and_the_server_keeps_serving()
    {
        var model = CopyOfTinyModelWithTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        await using var gw = await TestServer.StartAsync(s => s.Engine.Model = model);
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = Hello, max_tokens = 1 });

        Assert.Equal(400, (int)response.StatusCode);
        var error = body.GetProperty("error");
        Assert.Equal("chat_template_limit", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains("nested deeper than 64", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertServesAsync(gw);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_limits_are_configurable()
    {
        // 50 iterations are fine by default; a limit of 10 stops them.
        const string template = "{% for i in range(50) %}.{% endfor %}{% for m in messages %}{{ m.content }}{% endfor %}";
        await using var gw = await TestServer.StartAsync(s =>
        {
            s.ChatTemplate = template;
            s.ChatTemplateLimits.MaxLoopIterations = 10;
        });
        var (response, body) = await gw.PostAsync("/v1/chat/completions", new { messages = Hello, max_tokens = 1 });
        Assert.Equal(500, (int)response.StatusCode);
        Assert.Contains("10 loop iterations", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static async Task AssertServesAsync(TestServer gw)
    {
        var (response, body) = await gw.PostAsync("/v1/completions", new { prompt = "Once upon a time", max_tokens = 2 });
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(2, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    /// <summary>The tiny model in a directory of its own, whose tokenizer_config.json carries <paramref name="template"/>.</summary>
    private static string CopyOfTinyModelWithTemplate(string template)
    {
        var source = TinyModels.Path(InferServe.ModelGen.ModelSpec.Tiny);
        var dir = Path.Combine(TestPaths.GraphCacheDir, "sandbox-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var configPath = Path.Combine(dir, "tokenizer_config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["chat_template"] = template;
        File.WriteAllText(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return dir;
    }
}
