using System.Text.Json;
using InferServe.LoadTests.Cli;
using InferServe.LoadTests.Clients;
using InferServe.LoadTests.Load;
using InferServe.LoadTests.Metrics;
using InferServe.LoadTests.Reports;

namespace InferServe.LoadTests;

/// <summary>The tool as a library: runs every scenario at each sweep level, then writes the reports.</summary>
public static class LoadTestRunner
{
    public sealed record Outcome(BenchmarkReport Report, IReadOnlyList<string> Files, string Directory);

    public static async Task<Outcome> RunAsync(IReadOnlyList<string> args, TextWriter progress, CancellationToken ct)
    {
        var options = Options.Parse(args);
        var slo = options.Get("slo") is { } s ? Slo.Parse(s) : Slo.None;
        var drain = TimeSpan.FromSeconds(Durations.Parse(options.Get("drain") ?? "30s"));
        var (axis, levels) = options.Get("sweep-rate") is { } r ? ("rate", Options.List(r, "sweep-rate"))
            : options.Get("sweep-concurrency") is { } c ? ("concurrency", Options.List(c, "sweep-concurrency")) : ((string?)null, new double[] { double.NaN });
        // Checked before anything is sent: overload runs never leave the machine.
        if (options.Get("monitor") is not null || options.Get("burst") is not null || options.Scenarios.Any(x => x.ContainsKey("burst")))
            ScenarioFactory.RequireLoopback(options);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4096, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var model = options.Get("model") ?? (options.Get("url") is { } url ? await ModelNameAsync(http, url.TrimEnd('/'), ct) : null);
        using var factory = new ScenarioFactory(options, http, model);
        var started = DateTimeOffset.UtcNow;
        var points = new List<RunPoint>();
        var descriptions = new List<string>();
        foreach (var level in levels)
        {
            double? l = double.IsNaN(level) ? null : level;
            var scenarios = options.Scenarios.Select((spec, i) => factory.Build(spec, i, axis, l)).ToArray();
            if (points.Count == 0) descriptions.AddRange(scenarios.Select(x => x.Describe()));
            var label = l is { } v ? $"{axis} {v}" : options.Get("label") ?? string.Join(" + ", scenarios.Select(x => x.Name));
            points.Add(await RunPointAsync(label, scenarios, slo, drain, Monitor(options, factory, http), progress, ct));
        }
        var target = string.Join(" ", new[] { options.Get("url"), options.Get("grpc") }.OfType<string>());
        // Seeds do not depend on the level; the first one stands in (a concurrency sweep has no level without it).
        double? first = double.IsNaN(levels[0]) ? null : levels[0];
        var seeds = options.Scenarios.Select((spec, i) => factory.Build(spec, i, axis, first).Seed).Distinct().ToArray();
        var report = new BenchmarkReport(target + (model is null ? "" : $" model {model}"), "inferserve-load " + string.Join(' ', args.Select(Quote)), started,
            axis ?? "none", descriptions, seeds, points);
        var dir = options.Get("out") ?? Path.Combine("loadtest-results", started.ToString("yyyyMMdd-HHmmss"));
        var files = await ReportWriter.WriteAsync(report, dir, ct);
        return new Outcome(report, files, dir);
    }

    /// <summary>With --monitor: a sampler factory over the --url server's /metrics.</summary>
    private static Func<RunClock, ServerSampler>? Monitor(Options options, ScenarioFactory factory, HttpClient http)
    {
        if (options.Get("monitor") is not { } m) return null;
        factory.RequireLoopback();
        var url = options.Get("url") ?? throw new FormatException("--monitor reads the server's /metrics: it needs --url.");
        return clock => new ServerSampler(http, url.TrimEnd('/'), TimeSpan.FromSeconds(Math.Max(0.1, Durations.Parse(m))), clock);
    }

    private static async Task<RunPoint> RunPointAsync(string label, Scenario[] scenarios, Slo slo, TimeSpan drain, Func<RunClock, ServerSampler>? monitor,
        TextWriter progress, CancellationToken ct)
    {
        var clock = new RunClock();
        var counters = new LiveCounters();
        var sampler = monitor?.Invoke(clock);
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampling = sampler?.RunAsync(stopSampling.Token) ?? Task.CompletedTask;
        await using (var line = ProgressLine.Start(label, counters, clock, progress))
        {
            var results = await Task.WhenAll(scenarios.Select(s => ScenarioRunner.RunAsync(s, clock, counters, drain, ct)));
            await stopSampling.CancelAsync();
            await sampling;
            var records = results.SelectMany(x => x.Records).ToArray();
            double start = results.Min(x => x.MeasureStart), end = results.Max(x => x.MeasureEnd);
            var perScenario = results.Select(x => RunSummary.From(x.Scenario.Name, x.Records, x.Duration, slo)).ToArray();
            var shifted = records.Select(rec => Shift(rec, start)).ToArray();
            var samples = sampler?.Samples ?? [];
            var bursts = results.Where(x => x.Scenario.Simulation is BurstRate).ToDictionary(x => x.Scenario.Name, x =>
            {
                var b = (BurstRate)x.Scenario.Simulation;
                return BurstVerdict.From(x.Records, x.Started + b.At, x.Started + b.At + b.Length);
            });
            return new RunPoint(label, scenarios[0].Simulation.Level, RunSummary.From(label, records, end - start, slo), perScenario,
                TimeSeries.Of(shifted, end - start, Math.Max(1, (end - start) / 60)))
            {
                Records = records,
                ServerSamples = [.. samples.Select(x => x with { Time = x.Time - start })],
                Soak = sampler is null ? null : SoakVerdict.From(records, samples, start),
                Bursts = bursts,
            };
        }
    }

    /// <summary>The record on the measured window's time axis (time series start at 0).</summary>
    private static RequestRecord Shift(RequestRecord r, double start)
    {
        var s = new RequestRecord { Scenario = r.Scenario, Start = r.Start - start, Warmup = r.Warmup, End = r.End - start, InputTokens = r.InputTokens, OutputTokens = r.OutputTokens, Error = r.Error };
        s.Chunks.AddRange(r.Chunks.Select(c => (c.Time - start, c.Tokens)));
        return s;
    }

    private static async Task<string> ModelNameAsync(HttpClient http, string url, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync(url + "/v1/models", timeout.Token));
            return doc.RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or IndexOutOfRangeException or OperationCanceledException)
        {
            throw new InvalidOperationException($"{url}/v1/models did not name a model ({e.Message}); pass --model.", e);
        }
    }

    private static string Quote(string a) => a.Contains(' ') || a.Contains(';') ? $"\"{a}\"" : a;
}
