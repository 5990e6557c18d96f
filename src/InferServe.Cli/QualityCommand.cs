using System.Text.Json;
using InferServe.Backend;
using InferServe.Engine.Evaluation;
using InferServe.Engine.Kv;
using InferServe.Engine.Runner;
using InferServe.Onnx;
using InferServe.Tokenization;

namespace InferServe.Cli;

/// <summary>
/// `inferserve quality`: top-1 agreement and KL divergence of quantized weights or KV against fp32 on one device, or,
/// with --reference-device, of each weight precision on --device against the same precision on the reference device.
/// </summary>
public static class QualityCommand
{
    public static int Run(CommandLine cmd)
    {
        int prompts = cmd.GetInt("prompts", 20, 1, QuantizationQuality.Prompts.Length);
        int tokens = cmd.GetInt("tokens", 50, 1, 4096);
        var device = cmd.Get("device", "cpu");
        var reference = cmd.Get("reference-device");
        var weights = cmd.Get("weights", reference is null ? "int8,int4" : "fp32,int8,int4")
            .Split(',', StringSplitOptions.RemoveEmptyEntries).Select(GraphOptions.ParsePrecision).ToList();
        var kvTypes = cmd.Get("kv-dtypes", "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(KvCacheSpec.ParseDType).ToList();
        var cacheDir = ModelSource.CacheRoot(cmd);
        using var ckpt = ModelSource.Open(cmd, defaultShape: "tiny");
        cmd.RejectUnknown();

        var tokenizer = TokenizerLoader.Load(ckpt.TokenizerPath ?? throw new UsageException("The model has no tokenizer; pass --tokenizer."));
        var inputs = QuantizationQuality.Prompts.Take(prompts).Select(p => tokenizer.Encode(p, addSpecialTokens: true)).ToList();
        ModelInstance Load(string on, WeightPrecision w, KvDType kv) => new(ckpt,
            new RunnerOptions
            {
                Graphs = new GraphOptions { Precision = w },
                Backend = new BackendOptions { Device = on },
                MaxBatchTokens = 512,
                MaxSeqs = 1,
                CacheDir = cacheDir,
            },
            new KvCacheOptions { DType = kv, MemoryBytes = 64L << 20 });

        var reports = new List<QualityReport>();
        string against;
        if (reference is not null)
        {
            // Devices compared: each precision against itself, so only the devices' kernels differ.
            against = $"the same weights on {reference}";
            foreach (var w in weights)
            {
                List<QuantizationQuality.Trace> baseline;
                using (var r = Load(reference, w, KvDType.Fp32))
                    baseline = inputs.Select(p => QuantizationQuality.Baseline(r, p, tokens)).ToList();
                using var m = Load(device, w, KvDType.Fp32);
                reports.Add(QuantizationQuality.Compare($"weights={Name(w)} {device} vs {reference}", m, baseline));
            }
        }
        else
        {
            against = "fp32 weights + fp32 KV";
            List<QuantizationQuality.Trace> baseline;
            using (var fp32 = Load(device, WeightPrecision.Fp32, KvDType.Fp32))
                baseline = inputs.Select(p => QuantizationQuality.Baseline(fp32, p, tokens)).ToList();
            foreach (var w in weights)
            {
                using var m = Load(device, w, KvDType.Fp32);
                reports.Add(QuantizationQuality.Compare($"weights={Name(w)}", m, baseline));
            }
            foreach (var kv in kvTypes)
            {
                using var m = Load(device, WeightPrecision.Fp32, kv);
                reports.Add(QuantizationQuality.Compare($"kv={Name(kv)}", m, baseline));
            }
        }
        Console.WriteLine($"{prompts} prompts x {tokens} greedy tokens, teacher-forced against {against}");
        int width = Math.Max(14, reports.Max(r => r.Variant.Length));
        Console.WriteLine($"{"variant".PadRight(width)} {"top-1 agree",11} {"mean KL (nats)",15} {"free-run match",15}");
        foreach (var r in reports) Console.WriteLine($"{r.Variant.PadRight(width)} {r.Top1Agreement,11:P2} {r.MeanKlDivergence,15:E3} {r.FreeRunTokenMatch,15:P2}");
        Console.WriteLine(JsonSerializer.Serialize(reports, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        return 0;
    }

    private static string Name<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();
}
