using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using InferServe.Backend;
using InferServe.Engine;
using InferServe.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace InferServe.Cli;

/// <summary>
/// The memory-bandwidth bound of single-stream decode: every step reads all dense weights (the embedding table
/// only by one row) and the sequence's KV, so tok/s cannot pass bandwidth ÷ bytes per step. Bandwidth is measured
/// here, in the same run: on the CPU by streaming reads over a buffer far larger than any cache; on another device the
/// weights live in the device's memory, so they are read at its bandwidth, measured by a device-to-device copy through
/// ONNX Runtime, while the KV stays in host memory (attention runs on the host) at the host's.
/// </summary>
public sealed record Roofline(double WeightMiB, double KvMiB, int Context, double WeightBandwidthGBs, double KvBandwidthGBs, string Device, int Threads)
{
    private const double MiB = 1 << 20;

    public double SecondsPerStep => WeightMiB * MiB / (WeightBandwidthGBs * 1e9) + KvMiB * MiB / (KvBandwidthGBs * 1e9);
    public double TokPerS => 1 / SecondsPerStep;

    /// <summary>Bytes one decode step of one sequence reads at context length <paramref name="context"/>.</summary>
    public static Roofline For(LlmEngine engine, int context, int threads, BackendOptions backend, string cacheDir)
    {
        // The graph files hold the weights as the device holds them (packed int4/int8 plus scales); embed.onnx is a gather.
        long weights = Directory.EnumerateFiles(engine.GraphDirectory, "*.onnx")
            .Where(f => Path.GetFileName(f) != "embed.onnx")
            .Sum(f => new FileInfo(f).Length);
        long kv = (long)engine.KvSpec.BytesPerTokenPerLayer * engine.KvSpec.NumLayers * context;
        double host = MeasureReadBandwidth(threads);
        var device = ExecutionDevice.Parse(backend.Device);
        if (device.Kind == "cpu") return new Roofline(weights / MiB, kv / MiB, context, host, host, "cpu", threads);
        try
        {
            return new Roofline(weights / MiB, kv / MiB, context, MeasureDeviceBandwidth(backend, cacheDir), host, device.ToString(), threads);
        }
        catch (Exception e) when (e is OnnxRuntimeException or BackendException)
        {
            // A roofline is a reading aid: say why the device figure is missing rather than fail the benchmark.
            Console.Error.WriteLine($"  roofline: the {device} bandwidth probe failed ({e.Message}); using the host's bandwidth");
            return new Roofline(weights / MiB, kv / MiB, context, host, host, "cpu", threads);
        }
    }

    public string Describe(double achievedTokPerS)
    {
        string bandwidth = Device == "cpu"
            ? $"measured read bandwidth {KvBandwidthGBs:F1} GB/s ({Threads} threads)"
            : $"measured {Device} copy bandwidth {WeightBandwidthGBs:F1} GB/s for the weights, host read bandwidth {KvBandwidthGBs:F1} GB/s for the KV";
        return $"roofline C=1: {WeightMiB:F1} MiB weights + {KvMiB:F2} MiB KV (context {Context}) per step, {bandwidth} => at most " +
            $"{TokPerS:F0} tok/s; achieved {achievedTokPerS:F1} tok/s = {100 * achievedTokPerS / TokPerS:F0} %";
    }

    /// <summary>A device-to-device copy of 1 GiB through ONNX Runtime on the backend's device.</summary>
    public static double MeasureDeviceBandwidth(BackendOptions options, string cacheDir)
    {
        var path = Path.Combine(cacheDir, "graphs", "device-copy.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, HostGraphs.Copy(DeviceBandwidth.InputName, DeviceBandwidth.OutputName));
        using var backend = new OrtBackend(options);
        return DeviceBandwidth.MeasureGBs(backend, path);
    }

    /// <summary>Best of several passes of <paramref name="threads"/> threads summing disjoint slices of a 1 GiB buffer.</summary>
    public static double MeasureReadBandwidth(int threads, long bytes = 1L << 30, int passes = 5)
    {
        threads = Math.Max(1, threads);
        var buffer = new long[bytes / sizeof(long)];
        for (int i = 0; i < buffer.Length; i += 512) buffer[i] = i; // touch every page
        long slice = buffer.Length / threads;
        double best = 0;
        long sink = 0;
        for (int p = 0; p < passes; p++)
        {
            var sw = Stopwatch.StartNew();
            var sums = new long[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                t => sums[t] = Sum(buffer.AsSpan((int)(t * slice), (int)slice)));
            double s = sw.Elapsed.TotalSeconds;
            sink += sums.Sum();
            best = Math.Max(best, slice * threads * sizeof(long) / s / 1e9);
        }
        GC.KeepAlive(sink);
        return best;
    }

    private static long Sum(ReadOnlySpan<long> values)
    {
        var vectors = MemoryMarshal.Cast<long, Vector<long>>(values);
        Vector<long> a = default, b = default, c = default, d = default;
        int i = 0;
        for (; i + 4 <= vectors.Length; i += 4)
        {
            a += vectors[i];
            b += vectors[i + 1];
            c += vectors[i + 2];
            d += vectors[i + 3];
        }
        for (; i < vectors.Length; i++) a += vectors[i];
        return Vector.Sum(a + b + c + d);
    }
}
