using System.Diagnostics;
using System.Net;
using System.Text;

namespace InferServe.TestSupport;

/// <summary>
/// One real `inferserve` OS process (usually `serve` on loopback ports), with its output kept for assertions and
/// failures. Linked into every test project that starts the CLI.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();

    public string Name { get; }
    public int HttpPort { get; }
    public int GrpcPort { get; }
    public string HttpBase => $"http://127.0.0.1:{HttpPort}";
    public string GrpcAddress => $"http://127.0.0.1:{GrpcPort}";
    public bool Exited => _process.HasExited;

    private ServerProcess(string name, int httpPort, int grpcPort, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, string? cli = null)
    {
        cli ??= CliPath;
        Name = name;
        HttpPort = httpPort;
        GrpcPort = grpcPort;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(cli);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start " + cli);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_gate) _output.AppendLine(line);
    }

    public string Output
    {
        get { lock (_gate) return _output.ToString(); }
    }

    /// <summary>The CLI built beside this test assembly's configuration (Release under scripts/test.sh).</summary>
    public static string CliPath { get; } = FindCli();

    private static string FindCli()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name; // bin/<Configuration>/net10.0/
        var path = Path.Combine(TestPaths.RepoRoot, "src", "InferServe.Cli", "bin", configuration, "net10.0", "inferserve.dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"The inferserve CLI is not built at {path}.");
    }

    /// <summary>Starts `serve` with the role's arguments on fresh loopback ports.</summary>
    public static ServerProcess Start(string name, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, string? cli = null)
    {
        int http = FreePort(), grpc = FreePort();
        return new ServerProcess(name, http, grpc, ["serve", "--host", "127.0.0.1", "--port", http.ToString(), "--grpc-port", grpc.ToString(), .. args], env, cli);
    }

    /// <summary>Runs the CLI (or another build of it, <paramref name="cli"/>) to completion, returning its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunToEndAsync(IEnumerable<string> args, CancellationToken ct, IReadOnlyDictionary<string, string>? env = null, string? cli = null)
    {
        await using var p = new ServerProcess("cli", 0, 0, args, env, cli);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try { await p._process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { throw new TimeoutException($"inferserve {string.Join(' ', args)} did not exit:\n{p.Output}"); }
        p._process.WaitForExit(); // flushes the asynchronous output readers
        return (p._process.ExitCode, p.Output);
    }

    public static int FreePort() => FreePorts.Next();

    /// <summary>Waits until /ready answers 200 (or <paramref name="status"/>), failing early with the log if the process exits.</summary>
    public async Task WaitReadyAsync(CancellationToken ct, HttpStatusCode status = HttpStatusCode.OK)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var r = await Http.GetAsync($"{HttpBase}/ready", timeout.Token);
                if (r.StatusCode == status) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!timeout.IsCancellationRequested) { }
            try { await Task.Delay(100, timeout.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"{Name} never became ready:\n{Output}"); }
        }
    }

    /// <summary>The value of one sample on /metrics (sum over matching series), or 0 when absent.</summary>
    public async Task<double> MetricAsync(string name, string? labelFilter = null, CancellationToken ct = default)
    {
        var text = await Http.GetStringAsync($"{HttpBase}/metrics", ct);
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || !(line.StartsWith(name + " ") || line.StartsWith(name + "{"))) continue;
            if (labelFilter is not null && !line.Contains(labelFilter)) continue;
            sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return sum;
    }

    /// <summary>Polls a condition on this process's metrics until it holds (the event) or the wait times out.</summary>
    public async Task WaitForMetricAsync(string description, Func<ServerProcess, Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!await condition(this))
        {
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"{Name}: {description} did not happen within {timeout}.");
            await Task.Delay(50, ct);
        }
    }

    /// <summary>Waits until the worker holds no KV: no lease left and every block free (cached prefixes count as free).</summary>
    public Task WaitKvIdleAsync(CancellationToken ct, double seconds = 30) =>
        WaitForMetricAsync("the KV pool back to baseline", async p =>
            await p.MetricAsync("inferserve_kv_leases_held", ct: ct) == 0
            && await p.MetricAsync("inferserve_kv_free_blocks", ct: ct) == await p.MetricAsync("inferserve_kv_total_blocks", ct: ct), TimeSpan.FromSeconds(seconds), ct);

    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: the graceful stop a container runtime or systemd sends.</summary>
    public void Terminate()
    {
        if (SendSignal(_process.Id, 15) != 0) throw new InvalidOperationException($"kill -TERM {_process.Id} failed");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken ct)
    {
        await _process.WaitForExitAsync(ct).WaitAsync(timeout, ct);
        return _process.ExitCode;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
