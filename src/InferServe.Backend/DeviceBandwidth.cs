using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferServe.Backend;

/// <summary>
/// The memory bandwidth of the device a backend computes on, measured through ONNX Runtime itself: a copy graph
/// (y = x + 0 over a buffer far larger than any cache) runs on the device over buffers allocated in the device's memory,
/// so the figure is a device-to-device copy (bytes read plus bytes written per second), with no host transfer in it.
/// On the CPU the buffers are host memory and the same graph measures the host.
/// </summary>
public static class DeviceBandwidth
{
    public const string InputName = "x";
    public const string OutputName = "y";

    /// <param name="copyGraphPath">A graph float[n] x → float[n] y that reads and writes every element once.</param>
    /// <returns>The best pass, in GB/s (1e9 bytes), counting each element read and written.</returns>
    public static double MeasureGBs(OrtBackend backend, string copyGraphPath, long bytes = 1L << 30, int passes = 5)
    {
        long elements = bytes / sizeof(float);
        using var session = backend.CreateSession("device-copy", copyGraphPath);
        using var memory = backend.DeviceMemory() ?? new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.DeviceAllocator, 0, OrtMemType.Default);
        using var allocator = new OrtAllocator(session, memory);
        using var x = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Float, [elements]);
        using var y = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Float, [elements]);
        using var binding = session.CreateIoBinding();
        using var run = new RunOptions();
        binding.BindInput(InputName, x);
        binding.BindOutput(OutputName, y);
        session.RunWithBinding(run, binding); // warm-up: kernels chosen, pages touched
        double best = 0;
        for (int p = 0; p < passes; p++)
        {
            var sw = Stopwatch.StartNew();
            session.RunWithBinding(run, binding); // returns when the device has finished
            best = Math.Max(best, 2.0 * elements * sizeof(float) / sw.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }
}
