using Microsoft.ML.OnnxRuntime;

namespace InferServe.Tests;

public class OnnxRuntimeLoadsTests
{
    [Fact]
    public void NativeLibraryReportsCpuProvider()
    {
        Assert.Contains("CPUExecutionProvider", OrtEnv.Instance().GetAvailableProviders());
    }
}
