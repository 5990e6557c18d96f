using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using InferServe.Tests.Support;

namespace InferServe.LoadTests.Tests;

/// <summary>One real `inferserve serve --shape tiny` process on loopback ports (as the disaggregation tests start them).</summary>
public class ServerProcess : IAsyncLifetime
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();
    private Process? _process;

    public int HttpPort { get; } = FreePort();
    public int GrpcPort { get; } = FreePort();
    public string HttpBase => $"http://127.0.0.1:{HttpPort}";
    public string GrpcAddress => $"http://127.0.0.1:{GrpcPort}";

    /// <summary>More `serve` options (a small queue for burst tests).</summary>
    protected virtual string[] ExtraArgs => [];

    public string Output
    {
        get { lock (_gate) return _output.ToString(); }
    }

    public async ValueTask InitializeAsync()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name; // bin/<Configuration>/net10.0/
        var cli = Path.Combine(TestPaths.RepoRoot, "src", "InferServe.Cli", "bin", configuration, "net10.0", "inferserve.dll");
        if (!File.Exists(cli)) throw new InvalidOperationException($"The inferserve CLI is not built at {cli}.");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = [cli, "serve", "--shape", "tiny", "--host", "127.0.0.1", "--port", $"{HttpPort}", "--grpc-port", $"{GrpcPort}",
                     "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1", "--no-ort-spinning", "--kv-cache-memory", "16MiB", .. ExtraArgs];
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = "0";
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start " + cli);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitReadyAsync();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate) _output.AppendLine(line);
    }

    /// <summary>Waits for /ready to answer 200, failing early with the log if the process exits.</summary>
    private async Task WaitReadyAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (true)
        {
            if (_process!.HasExited) throw new InvalidOperationException($"serve exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var r = await Http.GetAsync($"{HttpBase}/ready", timeout.Token);
                if (r.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!timeout.IsCancellationRequested) { }
            try { await Task.Delay(100, timeout.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"serve never became ready:\n{Output}"); }
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
