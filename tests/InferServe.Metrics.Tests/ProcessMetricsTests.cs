using System.Globalization;
using InferServe.TestSupport;

namespace InferServe.Metrics.Tests;

/// <summary>
/// The process and runtime families: prometheus-net's DotNetStats plus process_resident_memory_bytes and
/// process_open_fds, which soak tests and the load-test sampler read. Each name comes from exactly one source.
/// </summary>
public sealed class ProcessMetricsTests
{
    [Fact(Timeout = 60_000)]
    public void Process_families_carry_live_values_and_standard_types()
    {
        var registry = new MetricRegistry();
        ProcessMetrics.Register(registry);
        ProcessMetrics.Register(registry); // idempotent

        var text = registry.ToText();
        Assert.Contains("# TYPE process_resident_memory_bytes gauge", text);
        Assert.Contains("# TYPE process_cpu_seconds_total counter", text);
        Assert.True(Sample(text, "process_resident_memory_bytes") > 1 << 20);
        Assert.True(Sample(text, "process_open_fds") > 0);
        Assert.True(Sample(text, "process_cpu_seconds_total") > 0);
        // A start time within the last day. The test host may reach this test within a second of starting, so "now" keeps
        // its fraction (truncated, it could read before the start); the start, derived from boot time, may lead slightly.
        double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Assert.InRange(Sample(text, "process_start_time_seconds"), now - 86_400, now + 2);
        Assert.True(Sample(text, "process_num_threads") > 0);
        Assert.True(Sample(text, "dotnet_total_memory_bytes") > 0);
        Assert.Contains("# TYPE dotnet_collection_count_total counter", text);
        var types = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).ToList();
        Assert.Equal(types.Count, types.Distinct().Count());
    }

    [Fact(Timeout = 60_000)]
    public async Task Process_families_pass_promtool()
    {
        string promtool = PrometheusTools.Require(PrometheusTools.Promtool);
        var registry = new MetricRegistry();
        ProcessMetrics.Register(registry);

        var result = await PrometheusTools.RunAsync(promtool, ["check", "metrics"], registry.ToText(), TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, $"promtool exit {result.ExitCode}:\n{result.StdOut}\n{result.StdErr}");
        Assert.Equal("", (result.StdOut + result.StdErr).Trim());
    }

    private static double Sample(string text, string name) =>
        double.Parse(text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture);
}
