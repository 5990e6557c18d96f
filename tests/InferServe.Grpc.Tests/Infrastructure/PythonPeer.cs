using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using InferServe.Grpc.Tests.Interop;
using InferServe.Tests.Shared;

namespace InferServe.Grpc.Tests.Infrastructure;

/// <summary>
/// Runs python/interop_peer.py under Debian's /usr/bin/python3 with python3-grpcio.
/// Missing python3-grpcio skips the test locally and fails it when CI=true
/// (CI installs it with scripts/ci/setup-grpc-interop.sh).
/// </summary>
public static class PythonPeer
{
    /// <summary>Call first in every interop test.</summary>
    public static void RequireGrpcio() => PythonGrpc.Require("interop peer");

    /// <summary>Runs one client scenario against <paramref name="target"/> and returns its JSON outcome.</summary>
    public static Task<JsonElement> RunClientAsync(string target, string scenario) =>
        PythonGrpc.RunToJsonAsync(Start("client", target, scenario), InteropMethods.TestTimeout, $"client '{scenario}'");

    private static Process Start(params string[] args) =>
        PythonGrpc.Start("interop_peer.py", args, "INTEROP_DESCRIPTOR", InteropTestReflection.Descriptor.SerializedData.Span);

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
