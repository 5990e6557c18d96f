

namespace InferServe.Engine.Tests;

public class OnnxRuntimeLoadsTests
{
    [Fact]
    public void NativeLibraryReportsCpuProvider()
    {
        Assert.Contains("CPUExecutionProvider", InferServe.Backend.OrtBackend.AvailableProviders());
    }
}
