using System.Diagnostics;
using System.Text.Json;

namespace InferServe.TestSupport;

/// <summary>
/// Runs python3-grpcio peers as real processes under Debian's /usr/bin/python3 (not a pyenv python).
/// Linked into every test project that talks gRPC to python. A missing python3-grpcio skips the
/// test locally and fails it when CI=true (CI installs it with scripts/ci/setup-grpc-interop.sh).
/// </summary>
public static class PythonGrpc
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> MissingReason = new(Probe);

    /// <summary>Call first in every python test.</summary>
    public static void Require(string peer)
    {
        if (MissingReason.Value is not { } reason) return;
        var message = $"python3-grpcio {peer} unavailable ({reason}); run scripts/ci/setup-grpc-interop.sh.";
        Requirements.Missing(message);
    }

    /// <summary>Starts <paramref name="script"/> (beside the test assembly) with the given descriptor environment variable.</summary>
    public static Process Start(string script, IEnumerable<string> args, string descriptorVariable, ReadOnlySpan<byte> descriptor)
    {
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "python", script));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment[descriptorVariable] = Convert.ToBase64String(descriptor);
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["PYTHONIOENCODING"] = "utf-8";
        // Keep the peer on loopback even where a proxy is configured.
        info.Environment["no_grpc_proxy"] = "*";
        info.Environment.Remove("http_proxy");
        info.Environment.Remove("https_proxy");
        return Process.Start(info) ?? throw new InvalidOperationException("Failed to start " + Python);
    }

    /// <summary>Waits (bounded) for a one-shot peer and parses the JSON outcome on its last stdout line.</summary>
    public static async Task<JsonElement> RunToJsonAsync(Process process, TimeSpan timeout, string label)
    {
        using var cts = new CancellationTokenSource(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        var output = (await stdout).Trim();
        Assert.True(process.ExitCode == 0 && output.Length > 0, $"python {label} failed (exit {process.ExitCode}): {await stderr}");
        return JsonDocument.Parse(output.Split('\n')[^1]).RootElement.Clone();
    }

    private static string? Probe()
    {
        if (!File.Exists(Python)) return Python + " not found";
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
