using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests.Support;

/// <summary>How to start a disaggregated deployment (and, for comparisons, the one-process server beside it).</summary>
public sealed record TopologyOptions
{
    public required string Model { get; init; }
    public string KvDtype { get; init; } = "fp32";
    /// <summary>--kv-dtype of the prefill workers when it differs from the rest (their KV is converted on arrival).</summary>
    public string? PrefillKvDtype { get; init; }
    public int PrefillWorkers { get; init; } = 1;
    public int DecodeWorkers { get; init; } = 1;
    /// <summary>Also start `--role all` with the same model and settings.</summary>
    public bool WithAll { get; init; }
    public string Routing { get; init; } = "cache-aware";
    public int RemotePrefillMinTokens { get; init; }
    public string? ChatTemplate { get; init; }
    /// <summary>--tool-call-parser of the processes that render chat (the gateway and `--role all`).</summary>
    public string? ToolCallParser { get; init; }
    public IReadOnlyList<string> WorkerArgs { get; init; } = [];
    public IReadOnlyList<string> PrefillArgs { get; init; } = [];
    /// <summary>Flags for the gateway and every worker (worker-link credentials).</summary>
    public IReadOnlyList<string> LinkArgs { get; init; } = [];
    /// <summary>Environment of every process (INFERSERVE_WORKER_TOKEN).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    /// <summary>The workers' gRPC ports serve TLS (mutual TLS on the worker links): the gateway lists https:// addresses.</summary>
    public bool WorkerTls { get; init; }
}

/// <summary>Gateway, prefill and decode workers as real OS processes on loopback (plus `--role all` when asked).</summary>
public sealed class Topology : IAsyncDisposable
{
    public const string ServedName = "m";
    /// <summary>One graph cache per test run, shared by every process (the first to load builds it).</summary>
    private static readonly string CacheDir = TestPaths.GraphCacheDir;

    public List<ServerProcess> Prefill { get; } = [];
    public List<ServerProcess> Decode { get; } = [];
    public ServerProcess Gateway { get; private set; } = null!;
    public ServerProcess? All { get; private set; }
    public IEnumerable<ServerProcess> Processes => Prefill.Concat(Decode).Append(Gateway).Concat(All is null ? [] : [All]).Where(p => p is not null);

    private static IEnumerable<string> Common(TopologyOptions o, string? kvDtype = null) =>
    [
        "--model", o.Model, "--kv-dtype", kvDtype ?? o.KvDtype, "--served-model-name", ServedName, "--cache-dir", CacheDir,
        // Several engines share two cores: one ORT thread each, no spinning.
        "--threads", "1", "--no-ort-spinning", "--max-seqs", "16", "--max-batched-tokens", "256",
    ];

    private static IEnumerable<string> Template(TopologyOptions o)
    {
        if (o.ChatTemplate is not null) yield return "--chat-template";
        if (o.ChatTemplate is not null) yield return o.ChatTemplate;
        if (o.ToolCallParser is not null) yield return "--tool-call-parser";
        if (o.ToolCallParser is not null) yield return o.ToolCallParser;
    }

    public static async Task<Topology> StartAsync(TopologyOptions o, CancellationToken ct)
    {
        var t = new Topology();
        try
        {
            // The first process builds the ONNX graphs into the shared cache; the rest start once it is ready.
            if (o.WithAll)
            {
                t.All = ServerProcess.Start("all", [.. Common(o), "--role", "all", "--kv-cache-memory", "64MiB", .. o.WorkerArgs, .. Template(o)]);
                await t.All.WaitReadyAsync(ct);
            }
            for (int i = 0; i < o.PrefillWorkers; i++)
                t.Prefill.Add(ServerProcess.Start($"prefill{i}", [.. Common(o, o.PrefillKvDtype), "--role", "prefill", "--kv-cache-memory", "64MiB", .. o.WorkerArgs, .. o.PrefillArgs, .. o.LinkArgs], o.Environment));
            for (int i = 0; i < o.DecodeWorkers; i++)
                t.Decode.Add(ServerProcess.Start($"decode{i}", [.. Common(o), "--role", "decode", "--kv-cache-memory", "64MiB", .. o.WorkerArgs, .. o.LinkArgs], o.Environment));
            foreach (var w in t.Prefill.Concat(t.Decode)) await w.WaitReadyAsync(ct);
            t.Gateway = ServerProcess.Start("gateway",
            [
                "--role", "gateway", "--model", o.Model, "--served-model-name", ServedName, "--routing", o.Routing,
                "--remote-prefill-min-tokens", o.RemotePrefillMinTokens.ToString(),
                "--prefill", string.Join(",", t.Prefill.Select(p => Address(o, p))), "--decode", string.Join(",", t.Decode.Select(p => Address(o, p))),
                .. Template(o), .. o.LinkArgs,
            ], o.Environment);
            await t.Gateway.WaitReadyAsync(ct);
            // Ready needs only a decode worker; the tests start from a topology with every worker taken in.
            int workers = o.PrefillWorkers + o.DecodeWorkers;
            await t.Gateway.WaitForMetricAsync("every worker healthy", async g => await g.MetricAsync("inferserve_worker_healthy", ct: ct) == workers, TimeSpan.FromSeconds(60), ct);
            return t;
        }
        catch
        {
            await t.DisposeAsync();
            throw;
        }
    }

    /// <summary>A worker's gRPC address as the gateway is given it.</summary>
    public static string Address(TopologyOptions o, ServerProcess worker) => o.WorkerTls ? $"https://127.0.0.1:{worker.GrpcPort}" : worker.GrpcAddress;

    /// <summary>Every process's log, for a failed assertion's message.</summary>
    public string Logs() => string.Join("\n", Processes.Select(p => $"===== {p.Name}\n{Tail(p.Output)}"));

    private static string Tail(string s) => s.Length > 6000 ? s[^6000..] : s;

    public async ValueTask DisposeAsync()
    {
        foreach (var p in Processes.Reverse()) await p.DisposeAsync();
    }
}
