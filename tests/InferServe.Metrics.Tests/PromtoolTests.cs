using InferServe.Tests.Shared;

namespace InferServe.Metrics.Tests;

/// <summary>The exposition passes the official linter/parser: /usr/bin/promtool check metrics, fed on stdin.</summary>
public class PromtoolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task EngineMetrics_WithUnderscorePrefix_PassPromtoolCheckMetricsCleanly()
    {
        string promtool = PrometheusTools.Require(PrometheusTools.Promtool);
        var (registry, _) = EngineMetricsSample.Create(new EngineMetricsOptions { Prefix = "inferserve_" });

        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], registry.ToText(), Timeout);

        Assert.True(result.ExitCode == 0, $"promtool exit {result.ExitCode}:\n{result.StdOut}\n{result.StdErr}");
        Assert.Equal("", (result.StdOut + result.StdErr).Trim());
    }

    [Fact]
    public async Task EngineMetrics_WithDefaultColonPrefix_ParseAndOnlyTripTheColonLint()
    {
        // promtool's linter reports "metric names should not contain ':'" (colons are meant for recording rules),
        // yet vLLM's names use them and Prometheus ingests them. Everything else must be clean, and a parse error
        // (exit 1, "error while linting") must not occur.
        string promtool = PrometheusTools.Require(PrometheusTools.Promtool);
        var (registry, _) = EngineMetricsSample.Create();

        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], registry.ToText(), Timeout);

        var problems = (result.StdOut + "\n" + result.StdErr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(result.ExitCode is 0 or 3, $"promtool exit {result.ExitCode}:\n{result.StdOut}\n{result.StdErr}");
        Assert.All(problems, p => Assert.EndsWith("metric names should not contain ':'", p));
    }

    [Fact]
    public async Task GenericRegistry_WithEscapingAndSpecialValues_PassesPromtool()
    {
        string promtool = PrometheusTools.Require(PrometheusTools.Promtool);
        var registry = new MetricRegistry();
        registry.CreateCounter("app_events", "Events with \\ and\nnewline in help.", "kind").WithLabels("a \"b\" \\ c\nd").Inc(5);
        registry.CreateGauge("app_temperature_celsius", "Temperature.", "sensor").WithLabels("x").Set(double.NegativeInfinity);
        registry.CreateCallbackGauge("app_ratio", "Ratio.", () => double.NaN);
        registry.CreateHistogram("app_duration_seconds", "Duration.", [1e-6, 0.5, 1e9]).Observe(1e10);
        registry.CreateInfo("app_build_info", "Build.", "version").Set("1.0");

        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], registry.ToText(), Timeout);

        Assert.True(result.ExitCode == 0, $"promtool exit {result.ExitCode}:\n{result.StdOut}\n{result.StdErr}");
    }

    [Fact]
    public async Task Promtool_RejectsBrokenInput_SoTheChecksAboveAreMeaningful()
    {
        string promtool = PrometheusTools.Require(PrometheusTools.Promtool);

        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], "# TYPE x counter\nx{a=\"unterminated} 1\n", Timeout);

        Assert.NotEqual(0, result.ExitCode);
    }
}
