using System.Diagnostics;

namespace InferServe.TestSupport;

/// <summary>
/// Locates Debian's prometheus/promtool (installed by scripts/ci/setup-prometheus.sh) and runs them as real processes.
/// Missing tools skip the test locally but fail it when CI=true, so CI can never silently pass without them.
/// </summary>
public static class PrometheusTools
{
    public const string Promtool = "/usr/bin/promtool";
    public const string Prometheus = "/usr/bin/prometheus";

    public static string Require(string path)
    {
        if (File.Exists(path)) return path;
        string message = $"{path} is not installed; run scripts/ci/setup-prometheus.sh (Debian package 'prometheus').";
        Requirements.Missing(message);
        return path; // unreachable: Missing throws
    }

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs a tool with <paramref name="stdin"/> fed to it; killed if it outlives <paramref name="timeout"/>.</summary>
    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> args, string stdin, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
            var stderr = process.StandardError.ReadToEndAsync(cts.Token);
            await process.StandardInput.WriteAsync(stdin.AsMemory(), cts.Token);
            process.StandardInput.Close();
            await process.WaitForExitAsync(cts.Token);
            return new Result(process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
