using System.CommandLine;
using System.Diagnostics;
using InferServe.Backend;
using InferServe.Cli.Options;
using InferServe.Engine.Attention;
using InferServe.Engine.Runner;
using InferServe.Onnx;

namespace InferServe.Cli;

/// <summary>
/// `inferserve bench-dense`: the runner's ONNX Runtime graphs alone (embedding, per-layer dense graphs,
/// head over every row) at several batch row counts, attention replaced by a copy. Shows how the dense
/// cost per token falls with batch size, i.e. where batched decode stops being bandwidth-bound.
/// </summary>
public static class BenchDenseCommand
{
    private static readonly Option<string?> Weights = Opt.Choice("--weights", "weight precision", ["fp32", "int8", "int4"], "int4");
    private static readonly Option<string?> Rows = Opt.List("--rows", "batch row counts to time", "1,8,16,32,64,128", Opt.PositiveInt);
    private static readonly Option<int?> Threads = Opt.Int("--threads", "ONNX Runtime intra-op threads; 0 = one per core", 0, 1024, 0);
    private static readonly Option<int?> WeightBlockSize = Opt.Int("--weight-block-size", "int8/int4 quantization block size", 16, 4096, 32);
    private static readonly Option<int?> AccuracyLevel = Opt.Int("--accuracy-level", "MatMulNBits accuracy_level (4 = int8 activations)", 0, 4, 4);
    private static readonly Option<bool> NoOrtSpinning = Opt.Flag("--no-ort-spinning", "ONNX Runtime threads sleep instead of spinning");
    private static readonly ModelOptions Model = [];

    public static Command Create() => Opt.Command("bench-dense", "Time the ONNX Runtime dense graphs alone at several batch row counts (default model: a random-weight smollm2-135m)",
        [Weights, Rows, Threads, WeightBlockSize, AccuracyLevel, NoOrtSpinning, .. Model], Run);

    private static int Run(ParseResult p)
    {
        var weights = GraphOptions.ParsePrecision(p.GetValue(Weights)!);
        var rowsList = Opt.Split(p.GetValue(Rows)!).Select(int.Parse).ToList();
        int threads = p.GetValue(Threads)!.Value;
        int blockSize = p.GetValue(WeightBlockSize)!.Value;
        int accuracy = p.GetValue(AccuracyLevel)!.Value;
        bool spinning = !p.GetValue(NoOrtSpinning);
        using var ckpt = Model.Open(p, defaultShape: "smollm2-135m");
        int maxRows = rowsList.Max();
        using var runner = new ModelRunner(ckpt, new RunnerOptions
        {
            Graphs = new GraphOptions { Precision = weights, BlockSize = blockSize, AccuracyLevel = accuracy },
            Backend = new BackendOptions { Threads = threads, AllowSpinning = spinning },
            MaxBatchTokens = maxRows,
            MaxSeqs = maxRows,
            CacheDir = Model.CacheRoot(p),
        }, log: m => Console.Error.WriteLine(m));
        var attention = new CopyAttention(runner.Config.QDim);
        var rng = new Random(1);
        Console.WriteLine($"dense graphs only, {weights} weights, {runner.Config.NumLayers} layers, hidden {runner.Config.HiddenSize}, vocab {runner.Config.VocabSize}");
        Console.WriteLine($"{"rows",5} {"ms/step",9} {"layers ms",10} {"head ms",8} {"ms/token",9} {"tokens/s",9}");
        foreach (int rows in rowsList)
        {
            var tokens = Enumerable.Range(0, rows).Select(_ => rng.Next(runner.Config.VocabSize)).ToArray();
            var batch = new AttentionBatch(rows, rows);
            int seq = batch.AddSequence([0], rows);
            for (int i = 0; i < rows; i++) batch.AddToken(seq, i);
            var logitRows = Enumerable.Range(0, rows).ToArray();
            for (int i = 0; i < 3; i++) runner.Forward(tokens, batch, attention, logitRows);
            int iterations = Math.Clamp(400 / rows, 4, 100);
            var before = runner.Timings.Snapshot();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++) runner.Forward(tokens, batch, attention, logitRows);
            double ms = sw.Elapsed.TotalMilliseconds / iterations;
            var spent = runner.Timings.Snapshot().Minus(before);
            double layers = spent.DenseMs / iterations, head = spent.HeadMs / iterations;
            Console.WriteLine($"{rows,5} {ms,9:F2} {layers,10:F2} {head,8:F2} {ms / rows,9:F3} {rows * 1000 / ms,9:F0}");
        }
        return 0;
    }

    /// <summary>Stands in for attention so only ORT's work is timed: the output is the query rows.</summary>
    private sealed class CopyAttention(int qDim) : IAttentionBackend
    {
        public void Forward(int layer, AttentionBatch batch, Span<float> qkv, Span<float> output)
        {
            int width = qkv.Length / batch.NumTokens;
            for (int t = 0; t < batch.NumTokens; t++) qkv.Slice(t * width, qDim).CopyTo(output.Slice(t * qDim, qDim));
        }
    }
}
