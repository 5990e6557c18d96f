using InferServe.TestSupport;

namespace InferServe.LoadTests.Tests;

/// <summary>A class fixture: one real `inferserve serve --shape tiny` process on loopback ports.</summary>
public class TinyServer : IAsyncLifetime
{
    private ServerProcess? _process;

    private ServerProcess Process => _process ?? throw new InvalidOperationException("The server has not started.");
    public string HttpBase => Process.HttpBase;
    public string GrpcAddress => Process.GrpcAddress;
    public string Output => Process.Output;

    /// <summary>More `serve` options (a small queue for burst tests).</summary>
    protected virtual string[] ExtraArgs => [];

    public async ValueTask InitializeAsync()
    {
        _process = ServerProcess.Start("serve", ["--shape", "tiny", "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1", "--no-ort-spinning",
            "--kv-cache-memory", "16MiB", .. ExtraArgs]);
        await _process.WaitReadyAsync(TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => _process?.DisposeAsync() ?? ValueTask.CompletedTask;
}
