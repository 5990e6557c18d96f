using System.Diagnostics;
using System.Text;
using InferServe.Disaggregation.Tests.Support;

namespace InferServe.Hub.Tests.Support;

/// <summary>The inferserve CLI as a real process with its own environment (HF_* variables), output kept for assertions.</summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();

    public CliProcess(IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ServerProcess.CliPath);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (k, v) in env) info.Environment[k] = v;
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start " + ServerProcess.CliPath);
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

    public bool Exited => _process.HasExited;

    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string> env, CancellationToken ct)
    {
        await using var p = new CliProcess(args, env);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try { await p._process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { throw new TimeoutException($"inferserve {string.Join(' ', args)} did not exit:\n{p.Output}"); }
        p._process.WaitForExit(); // flushes the asynchronous output readers
        return (p._process.ExitCode, p.Output);
    }

    /// <summary>Waits until /ready answers 200, failing early with the output if the process exits.</summary>
    public async Task WaitReadyAsync(string baseUrl, HttpClient http, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        while (true)
        {
            if (timeout.IsCancellationRequested) throw new TimeoutException($"serve never became ready:\n{Output}");
            if (_process.HasExited) throw new InvalidOperationException($"serve exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var r = await http.GetAsync(baseUrl + "/ready", ct);
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            try { await Task.Delay(100, timeout.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
        }
    }

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
