using System.CommandLine;
using System.Text.Json;
using InferServe.Backend;
using InferServe.Cli.Options;
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
    private static readonly Option<int?> Prompts = Opt.Int("--prompts", "prompts from the built-in set", 1, QuantizationQuality.Prompts.Length, 20);
    private static readonly Option<int?> Tokens = Opt.Int("--tokens", "greedy tokens per prompt", 1, 4096, 50);
    private static readonly Option<string?> Device = Opt.Text("--device", "device under test", "cpu", helpName: "DEVICE");
    private static readonly Option<string?> ReferenceDevice = Opt.Text("--reference-device", "compare each weight precision on --device against the same precision here", helpName: "DEVICE");
    private static readonly Option<string?> Weights = Opt.Text("--weights", "weight precisions to compare (default int8,int4; with --reference-device fp32,int8,int4)",
        check: s => Opt.Split(s).ForEach(w => GraphOptions.ParsePrecision(w)), helpName: "A[,B...]");
    private static readonly Option<string?> KvDtypes = Opt.List("--kv-dtypes", "KV cache dtypes to compare against fp32 (e.g. int8,int4)", "", s => KvCacheSpec.ParseDType(s));
    private static readonly ModelOptions Model = [];

    public static Command Create() => Opt.Command("quality", "Compare quantized weights / KV cache against fp32 (top-1 agreement, KL divergence); default model: a random-weight tiny",
        [Prompts, Tokens, Device, ReferenceDevice, Weights, KvDtypes, .. Model], Run);

    private static int Run(ParseResult p)
    {
        int prompts = p.GetValue(Prompts)!.Value;
        int tokens = p.GetValue(Tokens)!.Value;
        var device = p.GetValue(Device)!;
        var reference = p.GetValue(ReferenceDevice);
        var weights = Opt.Split(p.GetValue(Weights) ?? (reference is null ? "int8,int4" : "fp32,int8,int4")).Select(GraphOptions.ParsePrecision).ToList();
        var kvTypes = Opt.Split(p.GetValue(KvDtypes)!).Select(KvCacheSpec.ParseDType).ToList();
        var cacheDir = Model.CacheRoot(p);
        using var ckpt = Model.Open(p, defaultShape: "tiny");

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
