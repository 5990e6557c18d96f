using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Grpc.Tests.Interop;

namespace InferServe.Grpc.Tests.Infrastructure;

/// <summary>
/// Runs python/interop_peer.py under Debian's /usr/bin/python3 with python3-grpcio.
/// Missing python3-grpcio skips the test locally and fails it when CI=true
/// (CI installs it with scripts/ci/setup-grpc-interop.sh).
/// </summary>
public static class PythonPeer
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> MissingReason = new(ProbeGrpcio);

    private static string Script => Path.Combine(AppContext.BaseDirectory, "python", "interop_peer.py");

    /// <summary>Call first in every interop test.</summary>
    public static void RequireGrpcio()
    {
        if (MissingReason.Value is not { } reason)
        {
            return;
        }

        var message = $"python3-grpcio interop peer unavailable ({reason}); run scripts/ci/setup-grpc-interop.sh.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
    }

    /// <summary>Runs one client scenario against <paramref name="target"/> and returns its JSON outcome.</summary>
    public static async Task<JsonElement> RunClientAsync(string target, string scenario)
    {
        using var process = Start("client", target, scenario);
        using var timeout = new CancellationTokenSource(InteropMethods.TestTimeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var output = (await stdout).Trim();
        Assert.True(process.ExitCode == 0 && output.Length > 0, $"python client '{scenario}' failed (exit {process.ExitCode}): {await stderr}");
        return JsonDocument.Parse(output.Split('\n')[^1]).RootElement.Clone();
    }

    public static async Task<PythonServer> StartServerAsync()
    {
        var process = Start("server");
        var server = new PythonServer(process);
        try
        {
            await server.WaitForPortAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(Script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["INTEROP_DESCRIPTOR"] = Convert.ToBase64String(InteropTestReflection.Descriptor.SerializedData.Span);
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["PYTHONIOENCODING"] = "utf-8";
        // Keep the peer on loopback even where a proxy is configured.
        info.Environment["no_grpc_proxy"] = "*";
        info.Environment.Remove("http_proxy");
        info.Environment.Remove("https_proxy");
        return Process.Start(info) ?? throw new InvalidOperationException("Failed to start " + Python);
    }

    private static string? ProbeGrpcio()
    {
        if (!File.Exists(Python))
        {
            return Python + " not found";
        }

        try
        {
            using var probe = Process.Start(new ProcessStartInfo(Python, ["-c", "import grpc, google.protobuf"])
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var error = probe.StandardError.ReadToEnd();
            return probe.WaitForExit(10_000) && probe.ExitCode == 0 ? null : error.Trim();
        }
        catch (Exception ex)
        {
            return ex.Message;
        }
    }
}

/// <summary>A running python gRPC server; lines like "CANCELLED Unary" report what its handlers observed.</summary>
public sealed class PythonServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly System.Text.StringBuilder _stderr = new();

    internal PythonServer(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _lines.Writer.TryWrite(line);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Address { get; private set; } = null!;

    internal async Task WaitForPortAsync()
    {
        var line = await NextLineAsync();
        Assert.True(line.StartsWith("PORT ", StringComparison.Ordinal), $"unexpected python server output: {line}");
        Address = new Uri($"http://127.0.0.1:{line[5..]}");
    }

    /// <summary>Next "CANCELLED &lt;method&gt;" report, bounded by the test timeout.</summary>
    public async Task<string> NextCancellationAsync()
    {
        var line = await NextLineAsync();
        Assert.StartsWith("CANCELLED ", line);
        return line["CANCELLED ".Length..];
    }

    private async Task<string> NextLineAsync()
    {
        using var timeout = new CancellationTokenSource(InteropMethods.TestTimeout);
        try
        {
            return await _lines.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            string stderr;
            lock (_stderr)
            {
                stderr = _stderr.ToString();
            }

            throw new TimeoutException($"python server said nothing within {InteropMethods.TestTimeout}; stderr: {stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close(); // graceful stop
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception)
        {
            _process.Kill(entireProcessTree: true);
        }
        finally
        {
            _process.Dispose();
        }
    }
}
