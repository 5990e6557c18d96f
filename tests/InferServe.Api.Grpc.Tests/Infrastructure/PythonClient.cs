using System.Diagnostics;
using System.Text.Json;
using InferServe.Api.Grpc.V1;

namespace InferServe.Api.Grpc.Tests.Infrastructure;

/// <summary>
/// Runs python/inference_client.py under Debian's /usr/bin/python3 with python3-grpcio.
/// Missing python3-grpcio skips the test locally and fails it when CI=true
/// (CI installs it with scripts/ci/setup-grpc-interop.sh).
/// </summary>
public static class PythonClient
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> MissingReason = new(ProbeGrpcio);

    private static string Script => Path.Combine(AppContext.BaseDirectory, "python", "inference_client.py");

    /// <summary>Call first in every python test.</summary>
    public static void RequireGrpcio()
    {
        if (MissingReason.Value is not { } reason)
        {
            return;
        }

        var message = $"python3-grpcio client unavailable ({reason}); run scripts/ci/setup-grpc-interop.sh.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
    }

    /// <summary>Runs one scenario against <paramref name="target"/> and returns its JSON outcome.</summary>
    public static async Task<JsonElement> RunAsync(string target, string scenario, string requestId = "")
    {
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-u", Script, target, scenario, requestId })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["INFERENCE_DESCRIPTOR"] = Convert.ToBase64String(InferenceReflection.Descriptor.SerializedData.Span);
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["PYTHONIOENCODING"] = "utf-8";
        info.Environment["no_grpc_proxy"] = "*";
        info.Environment.Remove("http_proxy");
        info.Environment.Remove("https_proxy");

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Failed to start " + Python);
        using var timeout = new CancellationTokenSource(TestEngine.Timeout);
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
