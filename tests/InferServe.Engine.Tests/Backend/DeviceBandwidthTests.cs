using InferServe.Backend;
using InferServe.Onnx;

namespace InferServe.Engine.Tests.Backend;

/// <summary>The roofline's device bandwidth probe: a copy graph over buffers ORT allocates on the backend's device.</summary>
[Collection(OrtPoolAlone.Name)]
public sealed class DeviceBandwidthTests
{
    [Fact(Timeout = 120_000)]
    public void The_copy_probe_runs_on_the_backends_own_allocator_and_reports_a_plausible_bandwidth()
    {
        var dir = Directory.CreateTempSubdirectory("inferserve-bandwidth-").FullName;
        try
        {
            var path = Path.Combine(dir, "copy.onnx");
            File.WriteAllBytes(path, HostGraphs.Copy(DeviceBandwidth.InputName, DeviceBandwidth.OutputName));
            using var backend = new OrtBackend(new BackendOptions());
            double gbs = DeviceBandwidth.MeasureGBs(backend, path, bytes: 64L << 20, passes: 3);
            // Any machine moves more than 0.1 GB/s and less than 100 TB/s; outside that the timing or the byte count is wrong.
            Assert.InRange(gbs, 0.1, 100_000);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
