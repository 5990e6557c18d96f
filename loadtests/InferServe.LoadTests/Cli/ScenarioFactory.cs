using InferServe.LoadTests.Clients;
using InferServe.LoadTests.Datasets;
using InferServe.LoadTests.Load;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Cli;

/// <summary>Builds scenarios from options; clients are shared per API so connection pools are reused across sweep points.</summary>
public sealed class ScenarioFactory(Options options, HttpClient http, string? model) : IDisposable
{
    private readonly Dictionary<string, ILlmClient> _clients = [];

    public TimeSpan RequestTimeout { get; } = TimeSpan.FromSeconds(Durations.Parse(options.Get("timeout") ?? "120s"));

    /// <summary>The scenario of <paramref name="spec"/>, its load level replaced by <paramref name="level"/> in a sweep.</summary>
    public Scenario Build(IReadOnlyDictionary<string, string> spec, int index, string? sweepAxis, double? level)
    {
        string Get(string key, string fallback) => Options.Get(spec, options, key, fallback)!;
        double Num(string key, string fallback, double min = 0) => Options.Number(Get(key, fallback), key, min);
        var api = Get("api", "completions");
        int seed = (int)Num("seed", "1");
        var name = Get("name", index == 0 ? api : $"{api}-{index}");
        var sim = Simulation(spec, sweepAxis, level);
        string? requests = Options.Get(spec, options, "requests");
        double duration = Durations.Parse(Get("duration", requests is null ? "30s" : "10m"));
        if (duration > MaxDuration) throw new FormatException($"--duration is at most {MaxDuration / 3600} h: runs stop by themselves.");
        return new Scenario(name, Client(api), Dataset(Get, Num, seed), sim, Durations.Parse(Get("warmup", "0s")), duration,
            requests is null ? null : (int)Options.Number(requests, "requests", 1), seed);
    }

    private LoadSimulation Simulation(IReadOnlyDictionary<string, string> spec, string? sweepAxis, double? level)
    {
        string? Get(string key) => Options.Get(spec, options, key);
        if (sweepAxis == "concurrency" || (sweepAxis is null && Get("concurrency") is not null && Get("rate") is null))
            return new FixedConcurrency((int)(level ?? Options.Number(Get("concurrency"), "concurrency", 1)));
        double rate = level ?? Options.Number(Get("rate") ?? "1", "rate", 0.001);
        if (Get("burst") is { } burst)
        {
            var b = burst.Split(',').Select(x => x.Trim()).ToArray();
            if (b.Length != 3) throw new FormatException("--burst takes PEAK,AT,LENGTH, e.g. 200,10s,5s.");
            RequireLoopback();
            return new BurstRate(rate, Options.Number(b[0], "burst", 0.001), Durations.Parse(b[1]), Durations.Parse(b[2]));
        }
        if (Get("ramp") is { } ramp)
        {
            var parts = ramp.Split(',').Select(Durations.Parse).ToArray();
            if (parts.Length != 3) throw new FormatException("--ramp takes UP,HOLD,DOWN seconds, e.g. 10s,30s,10s.");
            return new RampRate(rate, parts[0], parts[1], parts[2]);
        }
        return new ConstantRate(rate, Options.Number(Get("burstiness") ?? "1", "burstiness", 0.01));
    }

    private static IDataset Dataset(Func<string, string, string> get, Func<string, string, double, double> num, int seed)
    {
        var dataset = get("dataset", "random");
        int vocab = (int)num("vocab", "500", 4), output = (int)num("output-len", "64", 1);
        if (dataset.StartsWith("jsonl:", StringComparison.Ordinal)) return new JsonlDataset(dataset[6..], output, seed);
        return dataset switch
        {
            "random" => new RandomDataset((int)num("input-len", "256", 1), output, num("range-ratio", "0", 0), vocab, seed),
            "prefix" => new PrefixSharingDataset((int)num("prefixes", "4", 1), (int)num("prefix-len", "512", 1), (int)num("suffix-len", "32", 0), output, vocab, seed),
            _ => throw new FormatException($"Unknown dataset '{dataset}' (random, prefix, jsonl:PATH)."),
        };
    }

    private const double MaxDuration = 6 * 3600;

    /// <summary>Overload tests (burst, soak) are for one's own server: loopback targets only.</summary>
    public void RequireLoopback() => RequireLoopback(options);

    public static void RequireLoopback(Options options)
    {
        foreach (var u in new[] { options.Get("url"), options.Get("grpc") }.OfType<string>())
            if (!new Uri(u).IsLoopback) throw new FormatException($"Burst and soak runs only target loopback; {u} is not.");
    }

    private ILlmClient Client(string api)
    {
        if (_clients.TryGetValue(api, out var c)) return c;
        var url = options.Get("url")?.TrimEnd('/');
        c = api switch
        {
            "completions" or "chat" => new OpenAiClient(http, url ?? throw new FormatException($"--api {api} needs --url."), model ?? "default", api == "chat", RequestTimeout, options.Get("api-key")),
            "grpc" => new GrpcLlmClient(new Uri(options.Get("grpc") ?? throw new FormatException("--api grpc needs --grpc http://host:port.")), RequestTimeout),
            _ => throw new FormatException($"Unknown api '{api}' (completions, chat, grpc)."),
        };
        _clients[api] = c;
        return c;
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Dispose();
    }
}
