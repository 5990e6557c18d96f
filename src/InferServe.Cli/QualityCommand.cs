using System.Text.Json;
using InferServe.Engine.Evaluation;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Onnx;
using InferServe.Tokenization;

namespace InferServe.Cli;

/// <summary>`inferserve quality`: top-1 agreement and KL divergence of quantized weights or KV against fp32.</summary>
public static class QualityCommand
{
    public static int Run(CommandLine cmd)
    {
        int prompts = cmd.GetInt("prompts", 20, 1, QuantizationQuality.Prompts.Length);
        int tokens = cmd.GetInt("tokens", 50, 1, 4096);
        var weights = cmd.Get("weights", "int8,int4").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(GraphOptions.ParsePrecision).ToList();
        var kvTypes = cmd.Get("kv-dtypes", "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(KvCacheSpec.ParseDType).ToList();
        var cacheDir = ModelSource.CacheRoot(cmd);
        using var ckpt = ModelSource.Open(cmd, defaultShape: "tiny");
        cmd.RejectUnknown();

        var tokenizer = TokenizerLoader.Load(ckpt.TokenizerPath ?? throw new UsageException("The model has no tokenizer; pass --tokenizer."));
        var inputs = QuantizationQuality.Prompts.Take(prompts).Select(p => tokenizer.Encode(p, addSpecialTokens: true)).ToList();
        ModelInstance Load(WeightPrecision w, KvDType kv) => new(ckpt,
            new RunnerOptions { Graphs = new GraphOptions { Precision = w }, MaxBatchTokens = 512, MaxSeqs = 1, CacheDir = cacheDir },
            new KvCacheOptions { DType = kv, MemoryBytes = 64L << 20 });

        List<QuantizationQuality.Trace> baseline;
        using (var fp32 = Load(WeightPrecision.Fp32, KvDType.Fp32))
            baseline = inputs.Select(p => QuantizationQuality.Baseline(fp32, p, tokens)).ToList();

        var reports = new List<QualityReport>();
        foreach (var w in weights)
        {
            using var m = Load(w, KvDType.Fp32);
            reports.Add(QuantizationQuality.Compare($"weights={w.ToString().ToLowerInvariant()}", m, baseline));
        }
        foreach (var kv in kvTypes)
        {
            using var m = Load(WeightPrecision.Fp32, kv);
            reports.Add(QuantizationQuality.Compare($"kv={kv.ToString().ToLowerInvariant()}", m, baseline));
        }
        Console.WriteLine($"{prompts} prompts x {tokens} greedy tokens, teacher-forced against fp32 weights + fp32 KV");
        Console.WriteLine($"{"variant",-14} {"top-1 agree",11} {"mean KL (nats)",15} {"free-run match",15}");
        foreach (var r in reports) Console.WriteLine($"{r.Variant,-14} {r.Top1Agreement,11:P2} {r.MeanKlDivergence,15:E3} {r.FreeRunTokenMatch,15:P2}");
        Console.WriteLine(JsonSerializer.Serialize(reports, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        return 0;
    }
}
