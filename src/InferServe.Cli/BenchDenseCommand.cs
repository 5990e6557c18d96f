using System.Diagnostics;
using InferServe.Backend;
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
    public static int Run(CommandLine cmd)
    {
        var weights = GraphOptions.ParsePrecision(cmd.Get("weights", "int4"));
        var rowsList = cmd.Get("rows", "1,8,16,32,64,128").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        int threads = cmd.GetInt("threads", 0, 0, 1024);
        int blockSize = cmd.GetInt("weight-block-size", 32, 16, 4096);
        int accuracy = cmd.GetInt("accuracy-level", 4, 0, 4);
        bool spinning = !cmd.Flag("no-ort-spinning");
        using var ckpt = ModelSource.Open(cmd, defaultShape: "smollm2-135m");
        cmd.RejectUnknown();
        if (rowsList.Any(r => r < 1)) throw new UsageException("--rows values must be positive.");
        int maxRows = rowsList.Max();
        using var runner = new ModelRunner(ckpt, new RunnerOptions
        {
            Graphs = new GraphOptions { Precision = weights, BlockSize = blockSize, AccuracyLevel = accuracy },
            Backend = new BackendOptions { Threads = threads, AllowSpinning = spinning },
            MaxBatchTokens = maxRows,
            MaxSeqs = maxRows,
            CacheDir = ModelSource.CacheRoot(cmd),
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
