using System.Diagnostics;
using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.Tests.Shared;
using InferServe.ModelGen;
using InferServe.Tests.Support;

namespace InferServe.Disaggregation.Tests;

/// <summary>The plain-process launcher (the compose topology without Docker) starts a working deployment and stops it whole.</summary>
public sealed class LauncherTests
{
    [Fact(Timeout = 300_000)]
    public async Task The_launcher_serves_through_a_gateway_and_sigterm_stops_every_process()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        int http = ServerProcess.FreePort(), grpc = ServerProcess.FreePort();
        int prefillHttp = ServerProcess.FreePort(), prefillGrpc = ServerProcess.FreePort(), decodeHttp = ServerProcess.FreePort(), decodeGrpc = ServerProcess.FreePort();
        var logs = Directory.CreateTempSubdirectory("inferserve-launcher-").FullName;
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.RepoRoot };
        foreach (var a in new[]
        {
            Path.Combine(TestPaths.RepoRoot, "scripts", "run-disaggregated.sh"), "--model", model, "--port", $"{http}", "--grpc-port", $"{grpc}",
            // The script numbers workers from 1: base + 1 is the port each worker gets.
            "--prefill-ports", $"{prefillHttp - 1},{prefillGrpc - 1}", "--decode-ports", $"{decodeHttp - 1},{decodeGrpc - 1}", "--log-dir", logs,
            "--", "--cache-dir", TestPaths.GraphCacheDir, "--threads", "1", "--no-ort-spinning", "--served-model-name", Topology.ServedName,
        }) info.ArgumentList.Add(a);
        info.Environment["INFERSERVE_CLI_DLL"] = ServerProcess.CliPath;
        using var launcher = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        launcher.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        launcher.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        launcher.BeginOutputReadLine();
        launcher.BeginErrorReadLine();
        try
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(launcher.HasExited, $"the launcher exited:\n{output}");
                try
                {
                    using var r = await OpenAiCalls.Http.GetAsync($"http://127.0.0.1:{http}/ready", ct);
                    if (r.IsSuccessStatusCode) break;
                }
                catch (HttpRequestException) { }
                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), $"the gateway never became ready:\n{output}");
                await Task.Delay(200, ct);
            }
            var answer = await OpenAiCalls.RunAsync($"http://127.0.0.1:{http}", "/v1/completions",
                new JsonObject { ["model"] = Topology.ServedName, ["prompt"] = "Once upon a time there was a long story", ["max_tokens"] = 8, ["temperature"] = 0 }, ct);
            Assert.Contains("\"finish\"", answer);
        }
        finally
        {
            if (!launcher.HasExited) Assert.Equal(0, Kill(launcher.Id, 15));
            await launcher.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }
        // Every server is gone with it: nothing answers on the worker or gateway ports any more.
        foreach (var port in new[] { http, prefillHttp, decodeHttp })
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => OpenAiCalls.Http.GetAsync($"http://127.0.0.1:{port}/health", ct));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
