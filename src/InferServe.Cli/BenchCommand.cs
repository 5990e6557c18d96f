using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using InferServe.Backend;
using InferServe.Cli.Options;
using InferServe.Contracts;
using InferServe.Engine;
using InferServe.Engine.Attention;
using InferServe.Engine.Hosting;

namespace InferServe.Cli;

/// <summary>
/// `inferserve bench`: offline throughput and latency straight against the engine. For every weight
/// precision × KV dtype × concurrency, N requests with fixed prompt and output lengths run in a closed
/// loop (C in flight). All combinations run in one process, so their ratios are comparable.
/// </summary>
public static class BenchCommand
{
    public sealed record Result(
        string Weights, string KvDtype, string AttentionThreads, int Concurrency, int Requests, int PromptTokens, int GenTokens, double DurationS,
        double OutputTokPerS, double TotalTokPerS, double DecodeTokPerS, double BatchDecodeTokPerS, double PrefillTokPerS,
        double TtftP50Ms, double TtftP90Ms, double TtftP99Ms, double TpotP50Ms, double TpotP90Ms, double TpotP99Ms,
        string Mode = "free", double MaskMsPerToken = 0);

    private static readonly EngineOptionSet Engine = new(sweep: true);
    private static readonly Option<string?> Concurrency = Opt.List("--concurrency", "requests in flight (comma-separated: one level each)", "1", Opt.PositiveInt);
    private static readonly Option<int?> PromptTokens = Opt.Int("--prompt-tokens", "random prompt length in tokens", 1, 1 << 16, 128);
    private static readonly Option<int?> GenTokens = Opt.Int("--gen-tokens", "tokens generated per request (ignore EOS)", 1, 1 << 16, 128);
    private static readonly Option<int?> Requests = Opt.Int("--requests", "requests per level; 0 = max(2C, 4)", 0, 1 << 20, 0);
    private static readonly Option<string?> Json = Opt.Text("--json", "also write the results as JSON to this file", helpName: "FILE");
    private static readonly Option<bool> Profile = Opt.Flag("--profile", "per-step time split (dense graphs, attention, sampling) to stderr");
    private static readonly Option<bool> NoRoofline = Opt.Flag("--no-roofline", "skip the bandwidth roofline at C=1");

    public static Command Create() => Opt.Command("bench", "Measure prefill and decode throughput straight against the engine, for every weights x KV dtype x concurrency " +
            "(default model: a random-weight smollm2-135m generated under --cache-dir)",
        [Concurrency, PromptTokens, GenTokens, Requests, Json, Profile, NoRoofline, .. Engine, .. StructuredBench.Options], RunAsync);

    private static async Task<int> RunAsync(ParseResult p)
    {
        var weights = Opt.Split(p.GetValue(Engine.Weights)!);
        var kvTypes = Opt.Split(p.GetValue(Engine.KvDtype)!);
        var attentionThreads = Opt.Split(p.GetValue(Engine.AttentionThreads)!);
        var concurrencies = Opt.Split(p.GetValue(Concurrency)!).Select(int.Parse).ToList();
        int promptTokens = p.GetValue(PromptTokens)!.Value;
        int genTokens = p.GetValue(GenTokens)!.Value;
        int requestsPerLevel = p.GetValue(Requests)!.Value;
        var jsonPath = p.GetValue(Json);
        var structured = StructuredBench.FromCli(p);
        bool profile = p.GetValue(Profile);
        bool noRoofline = p.GetValue(NoRoofline);
        // The KV cache is sized below from the workload unless given.
        bool explicitKv = p.GetValue(Engine.KvCacheMemory) is not null;
        var settings = Engine.Read(p);
        settings.Model = ModelSource.Finish(settings.Model ?? Engine.Model.ResolvePath(p, defaultShape: "smollm2-135m"));

        int maxC = concurrencies.Max();
        var results = new List<Result>();
        var rooflines = new List<object>();
        int bandwidthThreads = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        foreach (var w in weights)
        {
            foreach (var kv in kvTypes)
            {
                foreach (var at in attentionThreads)
                {
                    settings.Weights = w;
                    settings.KvDtype = kv;
                    settings.AttentionThreads = at;
                    settings.MaxSeqs = Math.Max(settings.MaxSeqs, maxC);
                    if (!explicitKv) settings.KvCacheMemory = $"{(long)maxC * (promptTokens + genTokens + 32) * 30 * 2 * 1024 * 4 / (1 << 20) + 64}MiB";
                    await using var loaded = EngineFactory.Create(settings, log: m => Console.Error.WriteLine(m));
                    var engine = loaded.LocalEngine();
                    int vocab = engine.Config.VocabSize;
                    await RunLevel(engine, 1, 1, promptTokens, Math.Min(genTokens, 8), vocab, seedBase: 999_000); // warm-up
                    foreach (var c in concurrencies)
                    {
                        int n = requestsPerLevel > 0 ? requestsPerLevel : Math.Max(2 * c, 4);
                        var before = engine.Timings.Snapshot();
                        var decodeBefore = engine.Timings.DecodeSnapshot();
                        long writesBefore = (engine.Attention as CpuPagedAttention)?.WriteTicks ?? 0;
                        if (structured is not null)
                        {
                            // Constrained against free decode: same engine, alternating rounds, so machine load hits both alike.
                            foreach (var (mode, result) in await structured.RunAsync(engine, grammar => RunLevel(engine, c, n, promptTokens, genTokens, vocab, seedBase: c * 10_000, grammar)))
                            {
                                results.Add(result with { Weights = w, KvDtype = kv, AttentionThreads = at });
                                Console.Error.WriteLine($"  {mode} C={c}: decode {result.DecodeTokPerS:F1} tok/s (C/TPOT), batch decode {result.BatchDecodeTokPerS:F1} tok/s, TPOT p50 {result.TpotP50Ms:F1} ms, mask {result.MaskMsPerToken:F3} ms/token");
                            }
                            continue;
                        }
                        var r = await RunLevel(engine, c, n, promptTokens, genTokens, vocab, seedBase: c * 10_000);
                        var all = engine.Timings.Snapshot().Minus(before);
                        var decode = engine.Timings.DecodeSnapshot().Minus(decodeBefore);
                        double writesMs = (((engine.Attention as CpuPagedAttention)?.WriteTicks ?? 0) - writesBefore) * 1000.0 / Stopwatch.Frequency;
                        if (profile && all.Steps > 0)
                        {
                            Console.Error.WriteLine($"  profile C={c}, all steps: {all.PerStep()} (RoPE + KV writes {writesMs / all.Steps:F2} ms)");
                            Console.Error.WriteLine($"  profile C={c}, decode-only steps: {decode.PerStep()}");
                        }
                        results.Add(r with { Weights = w, KvDtype = kv, AttentionThreads = at });
                        if (c == 1 && !noRoofline)
                        {
                            var roof = Roofline.For(engine, promptTokens + genTokens / 2, bandwidthThreads, new BackendOptions { Device = settings.Device, Threads = settings.Threads }, Engine.Model.CacheRoot(p));
                            Console.Error.WriteLine("  " + roof.Describe(r.BatchDecodeTokPerS));
                            rooflines.Add(new
                            {
                                weights = w, kv_dtype = kv, weight_mib = Math.Round(roof.WeightMiB, 2), kv_mib = Math.Round(roof.KvMiB, 3), context = roof.Context,
                                device = roof.Device, weight_bandwidth_gb_per_s = Math.Round(roof.WeightBandwidthGBs, 2), kv_bandwidth_gb_per_s = Math.Round(roof.KvBandwidthGBs, 2), threads = roof.Threads, roofline_tok_per_s = Math.Round(roof.TokPerS, 1),
                                achieved_tok_per_s = r.BatchDecodeTokPerS, fraction = Math.Round(r.BatchDecodeTokPerS / roof.TokPerS, 3)
                            });
                        }
                        Console.Error.WriteLine($"  weights={w} kv={kv} attention-threads={at} C={c}: {r.OutputTokPerS:F1} output tok/s, decode {r.DecodeTokPerS:F1} tok/s (C/TPOT), batch decode {r.BatchDecodeTokPerS:F1} tok/s, TTFT p50 {r.TtftP50Ms:F0} ms, TPOT p50 {r.TpotP50Ms:F1} ms");
                    }
                }
            }
        }

        if (structured is not null) StructuredBench.PrintComparison(results);
        Console.WriteLine($"{"weights",-7} {"kv",-5} {"attn",-6} {"C",4} {"N",4} {"output tok/s",13} {"decode tok/s",13} {"batch decode",13} {"vs C=1",7} {"prefill tok/s",14} {"TTFT p50/p99 ms",17} {"TPOT p50/p99 ms",17}");
        foreach (var r in results)
        {
            // Ratios only within one (weights, KV) engine of this run: same process, same minute.
            var single = results.FirstOrDefault(x => x.Weights == r.Weights && x.KvDtype == r.KvDtype && x.AttentionThreads == r.AttentionThreads && x.Concurrency == 1);
            string ratio = single is { BatchDecodeTokPerS: > 0 } ? $"{r.BatchDecodeTokPerS / single.BatchDecodeTokPerS:F2}x" : "";
            Console.WriteLine($"{r.Weights,-7} {r.KvDtype,-5} {r.AttentionThreads,-6} {r.Concurrency,4} {r.Requests,4} {r.OutputTokPerS,13:F1} {r.DecodeTokPerS,13:F1} {r.BatchDecodeTokPerS,13:F1} {ratio,7} {r.PrefillTokPerS,14:F1} {$"{r.TtftP50Ms:F0}/{r.TtftP99Ms:F0}",17} {$"{r.TpotP50Ms:F1}/{r.TpotP99Ms:F1}",17}");
        }
        var json = JsonSerializer.Serialize(new { model = settings.Model, prompt_tokens = promptTokens, gen_tokens = genTokens, threads = settings.Threads, results, roofline = rooflines },
            new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        Console.WriteLine(json);
        if (jsonPath is not null) await File.WriteAllTextAsync(jsonPath, json);
        return 0;
    }

    private static async Task<Result> RunLevel(LlmEngine engine, int concurrency, int requests, int promptTokens, int genTokens, int vocab, int seedBase, Grammar.GrammarSpec? grammar = null)
    {
        var ttft = new double[requests];
        var tpot = new double[requests];
        var stamps = new long[requests][];
        var gate = new SemaphoreSlim(concurrency);
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, requests).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var rng = new Random(seedBase + i);
                var prompt = Enumerable.Range(0, promptTokens).Select(_ => rng.Next(0, vocab)).ToArray();
                var request = new GenerationRequest { PromptTokens = prompt, MaxTokens = genTokens, IgnoreEos = true, Sampling = new SamplingParams { Temperature = 0 }, Grammar = grammar };
                long start = Stopwatch.GetTimestamp(), first = 0;
                int count = 0;
                var times = stamps[i] = new long[genTokens];
                await foreach (var e in engine.GenerateAsync(request))
                {
                    long now = Stopwatch.GetTimestamp();
                    for (int k = 0; k < e.TokenIds.Count && count < genTokens; k++) times[count++] = now;
                    if (first == 0 && count > 0) first = now;
                }
                long end = Stopwatch.GetTimestamp();
                ttft[i] = Stopwatch.GetElapsedTime(start, first).TotalMilliseconds;
                tpot[i] = count > 1 ? Stopwatch.GetElapsedTime(first, end).TotalMilliseconds / (count - 1) : 0;
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        await Task.WhenAll(tasks);
        double duration = clock.Elapsed.TotalSeconds;
        double output = (double)requests * genTokens / duration;
        return new Result("", "", "", concurrency, requests, promptTokens, genTokens, Math.Round(duration, 2),
            Math.Round(output, 1), Math.Round((double)requests * (promptTokens + genTokens) / duration, 1),
            Math.Round(concurrency * 1000 / tpot.Average(), 1), Math.Round(BatchDecodeRate(stamps, concurrency, genTokens), 1), Math.Round(promptTokens * 1000 / ttft.Min(), 1),
            P(ttft, 50), P(ttft, 90), P(ttft, 99), P(tpot, 50), P(tpot, 90), P(tpot, 99));
    }

    /// <summary>
    /// Tokens per second while exactly C sequences decode and nothing prefills, as llama.cpp's batched-bench
    /// reports text generation: per wave of C requests (the closed loop starts wave w+1 only as wave w
    /// finishes), the window from the wave's last first token to its first finish, every wave's tokens in
    /// it counted. 0 when no wave has such a window (too few tokens per request).
    /// </summary>
    private static double BatchDecodeRate(long[][] stamps, int concurrency, int genTokens)
    {
        long tokens = 0, ticks = 0;
        for (int w = 0; (w + 1) * concurrency <= stamps.Length; w++)
        {
            var wave = stamps.Skip(w * concurrency).Take(concurrency).ToArray();
            if (wave.Any(t => t[genTokens - 1] == 0)) continue; // a request stopped early: no clean window
            long from = wave.Max(t => t[0]), to = wave.Min(t => t[genTokens - 1]);
            if (to <= from) continue;
            // Tokens stamped after the window opened, up to its close (the opening tokens belong to the steps before).
            tokens += wave.Sum(t => t.Count(x => x > from && x <= to));
            ticks += to - from;
        }
        return ticks == 0 ? 0 : tokens / (ticks / (double)Stopwatch.Frequency);
    }

    private static double P(double[] values, double pct)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return Math.Round(sorted[Math.Clamp((int)Math.Ceiling(pct / 100 * sorted.Length) - 1, 0, sorted.Length - 1)], 2);
    }
}
