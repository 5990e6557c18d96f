using System.CommandLine;
using System.Diagnostics;
using InferServe.Cli.Options;
using InferServe.Engine.Attention;
using InferServe.Engine.Kv;
using InferServe.Models;

namespace InferServe.Cli;

/// <summary>
/// `inferserve bench-attention`: the paged attention kernel alone (no ORT, no scheduler), one decode token per
/// sequence over a filled cache, with the SmolLM2-135M attention shape. Separates kernel cost from contention.
/// </summary>
public static class BenchAttentionCommand
{
    private static readonly Option<string?> KvDtype = Opt.List("--kv-dtype", "KV cache dtypes to time", "fp32,int8,int4", s => KvCacheSpec.ParseDType(s));
    private static readonly Option<string?> Concurrency = Opt.List("--concurrency", "sequences per step", "1,32", Opt.PositiveInt);
    private static readonly Option<int?> Context = Opt.Int("--context", "tokens in each sequence's cache", 1, 8192, 192);
    private static readonly Option<int?> Layers = Opt.Int("--layers", "attention layers per step", 1, 256, 30);
    private static readonly Option<string?> Kernel = Opt.List("--kernel", "block (AVX-512 block kernels) and/or generic", "block,generic", s =>
    {
        if (s is not ("block" or "generic")) throw new ArgumentException(Opt.UnknownChoice("--kernel", s, ["block", "generic"]));
    });

    public static Command Create() => Opt.Command("bench-attention", "Time the paged attention kernel alone (per KV dtype and batch size)",
        [KvDtype, Concurrency, Context, Layers, Kernel], Run);

    private static int Run(ParseResult parse)
    {
        var dtypes = Opt.Split(parse.GetValue(KvDtype)!).Select(KvCacheSpec.ParseDType).ToList();
        var levels = Opt.Split(parse.GetValue(Concurrency)!).Select(int.Parse).ToList();
        int ctx = parse.GetValue(Context)!.Value;
        int layers = parse.GetValue(Layers)!.Value;
        var kernels = Opt.Split(parse.GetValue(Kernel)!);
        var cfg = new ModelConfig
        {
            Architecture = "bench", HiddenSize = 576, IntermediateSize = 1536, NumLayers = layers, NumHeads = 9, NumKvHeads = 3, HeadDim = 64,
            VocabSize = 1, MaxPositionEmbeddings = ctx + 1,
        };
        Console.WriteLine($"attention only, {layers} layers, 9 query / 3 KV heads x 64, context {ctx}, one decode token per sequence");
        Console.WriteLine($"{"kernel",-8} {"kv",-5} {"seqs",5} {"ms/step",9} {"ns/(token,head,block)",22} {"RoPE+write ms",13}");
        foreach (var dtype in dtypes)
        {
            foreach (var seqs in levels)
            {
                foreach (var kernel in kernels)
                {
                    var spec = new KvCacheSpec(layers, 3, 64, 16, dtype);
                    int perSeq = (ctx + 15) / 16;
                    using var storage = KvStorage.Create(spec, seqs * perSeq);
                    var attention = new CpuPagedAttention(cfg, storage, new RotaryEmbedding(cfg), allowBlockKernels: kernel == "block");
                    if (kernel == "block" && !attention.UsesBlockKernels) continue; // no AVX-512 here
                    var tables = Enumerable.Range(0, seqs).Select(s => Enumerable.Range(s * perSeq, perSeq).ToArray()).ToArray();
                    var rng = new Random(1);
                    var k = new float[cfg.KvDim];
                    var v = new float[cfg.KvDim];
                    for (int l = 0; l < layers; l++)
                    {
                        for (int s = 0; s < seqs; s++)
                        {
                            for (int p = 0; p < ctx - 1; p++)
                            {
                                for (int i = 0; i < k.Length; i++) (k[i], v[i]) = ((float)rng.NextDouble() - 0.5f, (float)rng.NextDouble() - 0.5f);
                                storage.Write(l, tables[s][p / 16], p % 16, k, v);
                            }
                        }
                    }

                    var batch = new AttentionBatch(seqs, seqs);
                    for (int s = 0; s < seqs; s++) batch.AddToken(batch.AddSequence(tables[s], ctx), ctx - 1);
                    var qkv = new float[seqs * (cfg.QDim + 2 * cfg.KvDim)];
                    for (int i = 0; i < qkv.Length; i++) qkv[i] = (float)rng.NextDouble() - 0.5f;
                    var output = new float[seqs * cfg.QDim];
                    void Step()
                    {
                        for (int l = 0; l < layers; l++) attention.Forward(l, batch, qkv, output);
                    }
                    for (int i = 0; i < 5; i++) Step();
                    int steps = Math.Max(3, 2000 / seqs);
                    long writes0 = attention.WriteTicks;
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < steps; i++) Step();
                    double ms = sw.Elapsed.TotalMilliseconds / steps;
                    double writeMs = (attention.WriteTicks - writes0) * 1000.0 / Stopwatch.Frequency / steps;
                    Console.WriteLine($"{kernel,-8} {dtype.ToString().ToLowerInvariant(),-5} {seqs,5} {ms,9:F2} {ms * 1e6 / ((double)seqs * 3 * perSeq * layers),22:F0} {writeMs,13:F2}");
                }
            }
        }

        return 0;
    }
}
