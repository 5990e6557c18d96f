using InferServe.TestSupport;

namespace InferServe.Metrics.Tests;

/// <summary>The exposition (prometheus-net's, with our names, labels and help) passes the official linter/parser: /usr/bin/promtool check metrics, fed on stdin.</summary>
public class PromtoolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task EngineMetrics_PassPromtoolCheckMetricsCleanly()
    {
        string promtool = PrometheusTools.Require(PrometheusTools.Promtool);
        var (registry, _) = EngineMetricsSample.Create();

        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], registry.ToText(), Timeout);

        Assert.True(result.ExitCode == 0, $"promtool exit {result.ExitCode}:\n{result.StdOut}\n{result.StdErr}");
        Assert.Equal("", (result.StdOut + result.StdErr).Trim());
    }

    [Fact(Timeout = 60_000)]
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

    [Fact(Timeout = 60_000)]
    public async Task Promtool_RejectsBrokenInput_SoTheChecksAboveAreMeaningful()
    {
        string promtool = PrometheusTools.Require(PrometheusTools.Promtool);

        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], "# TYPE x counter\nx{a=\"unterminated} 1\n", Timeout);

        Assert.NotEqual(0, result.ExitCode);
    }
}
