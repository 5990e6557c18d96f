using System.Text;
using InferServe.TestSupport.Fuzzing;

namespace InferServe.ChatTemplates.Tests;

/// <summary>
/// Mutated chat templates (the model repositories' real templates, spliced with Jinja fragments that loop, recurse,
/// grow strings and call every filter): each parses and renders or fails with <see cref="ChatTemplateException"/>,
/// within the sandbox's time limit; never another exception type or a hang.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class TemplateFuzzTests
{
    private static readonly string[] Fragments =
    [
        "{% for m in messages %}", "{% endfor %}", "{% if ", " %}", "{% else %}", "{% elif x %}", "{% endif %}", "{{ ", " }}", "{%- ", " -%}",
        "{% set ns = namespace(s='x', n=0) %}", "{% set ns.s = ns.s ~ ns.s %}", "{% set ns.me = ns %}", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}",
        "{% macro g(a, b=2) %}{{ caller() if caller else a }}{% endmacro %}", "{{ f(0) }}", "{{ g(1, b=3, c=4) }}", "{% for i in range(100000) %}",
        "{% for i in range(999999999) %}", "{% break %}", "{% continue %}", "{% raw %}", "{% endraw %}", "{# c #}", "{% generation %}", "{% endgeneration %}",
        "messages", "message['content']", "messages[0]", "messages[-1]", "messages[1:]", "messages[::-1]", "loop.index", "loop.last", "loop.cycle('a','b')",
        "|tojson", "|tojson(indent=2)", "|join(',')", "|replace('', 'xx')", "|indent(1024)", "|unique", "|sort", "|sort(attribute='role')", "|map('upper')",
        "|selectattr('role', 'equalto', 'user')", "|length", "|first", "|last", "|reverse", "|list", "|items", "|dictsort", "|int", "|float", "|round(2)",
        "|abs", "|trim", "|title", "|capitalize", "|string", "|default('d')", ".strip()", ".split()", ".split('')", ".startswith(('a','b'))", ".get('k')",
        " * 1000000000", " ~ ", " + ", " ** 1000", " // 0", " % 0", " / 0", " in ", " not in ", " is defined", " is none", " is string", " and ", " or ",
        "range(", "namespace(", "raise_exception('bad')", "strftime_now('%Y-%m-%d %A')", "9223372036854775807", "-9223372036854775808", "1e308",
        "'\uD800'", "'🙂'", "\"\\u0000\"", "'''", "((((", "))))", "[[[[", "]]]]", "{'a': 1, 'b': [1, 2]}", "(1, 2)", "x if y else z", "none", "True",
        "bos_token", "eos_token", "add_generation_prompt", "tools", "x.y.z", "[1,2,3][5]", "'abc'[1:2]", "'abc'[::0]",
    ];

    private static readonly ChatMessage[] Messages =
    [
        new("system", "You are helpful."), new("user", "Hi 🙂"), new("assistant", null), new("user", "again\u0000"),
        new("tool", "42") { ToolCallId = "t1", Name = "calc" },
    ];

    // Tighter than the server's defaults, so a run of thousands of cases stays short; the limits themselves are what is tested.
    private static readonly ChatTemplateOptions Options = new()
    {
        MaxRenderTime = TimeSpan.FromMilliseconds(250),
        MaxLoopIterations = 100_000,
        MaxOutputChars = 1 << 20,
    };

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public void Mutated_templates_render_or_fail_with_a_chat_template_exception()
    {
        var run = new FuzzRun("chat-templates", defaultCases: 2000);
        var seeds = Directory.GetFiles(Path.Combine(RepoPaths.TestDir, "templates"), "*.jinja").Select(File.ReadAllText)
            .Append("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
            // Small programs that run into each limit, so their mutants probe the limits' edges.
            .Append("{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}")
            .Append("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
            .Append("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}")
            .Append("{{ 'abc' * 1000000 }}{{ messages | tojson }}")
            .ToArray();
        var extra = new Dictionary<string, object?>
        {
            ["tools"] = new object?[] { new Dictionary<string, object?> { ["type"] = "function", ["function"] = new Dictionary<string, object?> { ["name"] = "f", ["parameters"] = null } } },
            ["x"] = 1, ["y"] = "", ["z"] = new object?[] { 1, "a", null },
        };

        run.Run((i, r) =>
        {
            var source = Mutate(r, seeds[r.Next(seeds.Length)]);
            try
            {
                var template = ChatTemplate.Parse(source, Options);
                template.Render(Messages, addGenerationPrompt: r.Next(2) == 0, "<s>", r.Next(4) == 0 ? null : "</s>", r.Next(2) == 0 ? extra : null);
                run.Outcome("ok");
            }
            catch (ChatTemplateException e) when (e.Message.Length > 0)
            {
                run.Outcome($"{e.Kind}: {StripPosition(e.Message)}");
            }
            catch (Exception e)
            {
                run.Fail(i, $"{e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}", source);
            }
        }, perCase: TimeSpan.FromSeconds(3));
        run.AssertClean();
        // The cases reach deep into the lexer, parser and runtime: hundreds of distinct errors, and every kind of limit.
        Assert.True(run.DistinctOutcomes >= 100, $"only {run.DistinctOutcomes} distinct outcomes");
        var missing = new[] { "loop iterations", "nested deeper than", "output exceeded" }
            .Where(limit => !run.Outcomes.Any(o => o.Contains(limit, StringComparison.Ordinal))).ToList();
        Assert.True(missing.Count == 0, $"no case reached the limits: {string.Join(", ", missing)}");
    }

    private static string Mutate(Random r, string source)
    {
        var sb = new StringBuilder(source);
        int n = 1 + r.Next(4);
        for (int k = 0; k < n; k++)
        {
            int pos = r.Next(sb.Length + 1);
            switch (r.Next(5))
            {
                case 0 or 1: sb.Insert(pos, Fragments[r.Next(Fragments.Length)]); break;
                case 2 when sb.Length > 0: sb.Remove(Math.Min(pos, sb.Length - 1), Math.Min(sb.Length - Math.Min(pos, sb.Length - 1), r.Next(1, 40))); break;
                case 3 when sb.Length > 0:
                    {
                        int start = r.Next(sb.Length), len = Math.Min(sb.Length - start, r.Next(1, 80));
                        sb.Insert(pos, sb.ToString(start, len));
                        break;
                    }
                default: sb.Insert(pos, (char)r.Next(0x20, 0x7f)); break;
            }
        }
        return sb.ToString();
    }

    private static string StripPosition(string message)
    {
        int at = message.LastIndexOf(" (line ", StringComparison.Ordinal);
        return at > 0 ? message[..at] : message;
    }
}
