using System.Diagnostics;
using System.Text.Json;
using InferServe.Backend;
using InferServe.Engine.Runner;
using InferServe.Engine.Sampling;
using InferServe.Onnx;

namespace InferServe.Cli;

/// <summary>
/// `inferserve bench`: prefill and single-stream decode throughput for each weight precision,
/// measured side by side in one process so the ratios are comparable.
/// </summary>
public static class BenchCommand
{
    public sealed record Result(string Weights, int PromptTokens, int GenTokens, double PrefillTokPerSec, double DecodeTokPerSec, double DecodeMsPerToken, double LoadSeconds);

    public static int Run(CommandLine cmd)
    {
        var weights = cmd.Get("weights", "int4").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(GraphOptions.ParsePrecision).ToList();
        int promptTokens = cmd.GetInt("prompt-tokens", 128, 1, 8192);
        int genTokens = cmd.GetInt("gen-tokens", 128, 1, 8192);
        int repeats = cmd.GetInt("repeats", 3, 1, 100);
        int threads = cmd.GetInt("threads", 0, 0, 1024);
        int blockSize = cmd.GetInt("block-size", 32, 16, 256);
        int accuracy = cmd.GetInt("accuracy-level", 4, 0, 4);
        var device = cmd.Get("device", "cpu");
        var jsonPath = cmd.Get("json");
        using var ckpt = ModelSource.Open(cmd, defaultShape: "smollm2-135m");
        cmd.RejectUnknown();

        var c = ckpt.Config;
        Console.Error.WriteLine($"Model: {c.Architecture} hidden={c.HiddenSize} layers={c.NumLayers} heads={c.NumHeads}/{c.NumKvHeads} vocab={c.VocabSize}; device={device}; prompt={promptTokens} gen={genTokens}; best of {repeats}");
        var results = new List<Result>();
        foreach (var precision in weights)
        {
            var sw = Stopwatch.StartNew();
            var options = new RunnerOptions
            {
                Graphs = new GraphOptions { Precision = precision, BlockSize = blockSize, AccuracyLevel = accuracy },
                Backend = new BackendOptions { Device = device, Threads = threads },
                MaxBatchTokens = Math.Min(promptTokens, 512),
                MaxSeqs = 1,
                CacheDir = ModelSource.CacheRoot(cmd),
            };
            using var model = new ModelInstance(ckpt, options, new KvCacheOptions { MemoryBytes = KvBytes(c, promptTokens + genTokens) }, m => Console.Error.WriteLine(m));
            double load = sw.Elapsed.TotalSeconds;
            var prompt = Enumerable.Range(0, promptTokens).Select(i => (i * 7919 + 13) % c.VocabSize).ToArray();
            double bestPrefill = 0, bestDecode = 0;
            for (int r = 0; r <= repeats; r++) // run 0 warms up
            {
                using var seq = new SequenceRunner(model);
                sw.Restart();
                int next = Sampler.ArgMax(seq.Append(prompt));
                double prefill = promptTokens / sw.Elapsed.TotalSeconds;
                sw.Restart();
                for (int i = 0; i < genTokens; i++) next = Sampler.ArgMax(seq.Append([next]));
                double decode = genTokens / sw.Elapsed.TotalSeconds;
                if (r == 0) continue;
                bestPrefill = Math.Max(bestPrefill, prefill);
                bestDecode = Math.Max(bestDecode, decode);
            }
            results.Add(new Result(precision.ToString().ToLowerInvariant(), promptTokens, genTokens, Math.Round(bestPrefill, 1), Math.Round(bestDecode, 1), Math.Round(1000 / bestDecode, 2), Math.Round(load, 1)));
        }

        Console.WriteLine($"{"weights",-8} {"prefill tok/s",14} {"decode tok/s",13} {"ms/token",9} {"load s",7}");
        foreach (var r in results)
            Console.WriteLine($"{r.Weights,-8} {r.PrefillTokPerSec,14:F1} {r.DecodeTokPerSec,13:F1} {r.DecodeMsPerToken,9:F2} {r.LoadSeconds,7:F1}");
        var json = JsonSerializer.Serialize(new { model = c.Architecture, hidden = c.HiddenSize, layers = c.NumLayers, device, threads, results }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        Console.WriteLine(json);
        if (jsonPath is not null) File.WriteAllText(jsonPath, json);
        return 0;
    }

    private static long KvBytes(InferServe.Models.ModelConfig c, int tokens) => (long)(tokens + 64) * c.NumLayers * 2 * c.KvDim * 4;
}
