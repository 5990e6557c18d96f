using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InferServe.Disaggregation.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>
/// The plain-process launcher (the compose topology without Docker) starts a working deployment, restarts a worker
/// that dies while the rest keep serving, and stops it whole.
/// </summary>
public sealed class LauncherTests
{
    /// <summary>scripts/run-disaggregated.sh on fresh ports, with its output kept.</summary>
    private sealed class Launcher : IAsyncDisposable
    {
        private readonly System.Text.StringBuilder _output = new();
        public required Process Process { get; init; }
        public required int Http { get; init; }
        public required int PrefillHttp { get; init; }
        public required int DecodeHttp { get; init; }
        public string Gateway => $"http://127.0.0.1:{Http}";

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        public static Launcher Start()
        {
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
            })
            {
                info.ArgumentList.Add(a);
            }

            info.Environment["INFERSERVE_CLI_DLL"] = ServerProcess.CliPath;
            var launcher = new Launcher { Process = Process.Start(info)!, Http = http, PrefillHttp = prefillHttp, DecodeHttp = decodeHttp };
            launcher.Process.OutputDataReceived += (_, e) => launcher.Append(e.Data);
            launcher.Process.ErrorDataReceived += (_, e) => launcher.Append(e.Data);
            launcher.Process.BeginOutputReadLine();
            launcher.Process.BeginErrorReadLine();
            return launcher;
        }

        private void Append(string? line)
        {
            if (line is not null) lock (_output) _output.AppendLine(line);
        }

        public async Task WaitGatewayReadyAsync(CancellationToken ct)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(Process.HasExited, $"the launcher exited:\n{Output}");
                try
                {
                    // Ready, and the launcher has seen it too: only then does it supervise (and restart) its processes.
                    using var r = await OpenAiCalls.Http.GetAsync($"{Gateway}/ready", ct);
                    if (r.IsSuccessStatusCode && Output.Contains("(Ctrl-C stops all)")) return;
                }
                catch (HttpRequestException) { }
                Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), $"the gateway never became ready:\n{Output}");
                await Task.Delay(200, ct);
            }
        }

        /// <summary>The pid the launcher last reported for a process ("decode1: pid N, log ...").</summary>
        public int PidOf(string name) => int.Parse(Regex.Matches(Output, $@"^{name}: pid (\d+)", RegexOptions.Multiline)[^1].Groups[1].Value);

        public async Task StopAsync(CancellationToken ct)
        {
            if (!Process.HasExited) Assert.Equal(0, Kill(Process.Id, 15));
            await Process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Kill(Process.Id, 15);
                await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            Process.Dispose();
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task The_launcher_serves_through_a_gateway_and_sigterm_stops_every_process()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var launcher = Launcher.Start();
        await launcher.WaitGatewayReadyAsync(ct);
        var answer = await OpenAiCalls.RunAsync(launcher.Gateway, "/v1/completions",
            new JsonObject { ["model"] = Topology.ServedName, ["prompt"] = "Once upon a time there was a long story", ["max_tokens"] = 8, ["temperature"] = 0 }, ct);
        Assert.Contains("\"finish\"", answer);
        await launcher.StopAsync(ct);
        // Every server is gone with it: nothing answers on the worker or gateway ports any more.
        foreach (var port in new[] { launcher.Http, launcher.PrefillHttp, launcher.DecodeHttp })
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => OpenAiCalls.Http.GetAsync($"http://127.0.0.1:{port}/health", ct));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_killed_decode_worker_is_restarted_and_chat_works_again_through_the_same_gateway_within_30_seconds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var launcher = Launcher.Start();
        await launcher.WaitGatewayReadyAsync(ct);
        var chat = new JsonObject
        {
            ["model"] = Topology.ServedName, ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello" }),
            ["max_tokens"] = 4, ["temperature"] = 0,
        };
        Assert.Contains("\"finish\"", await OpenAiCalls.RunAsync(launcher.Gateway, "/v1/chat/completions", chat, ct));

        int decode = launcher.PidOf("decode1");
        Assert.Equal(0, Kill(decode, 9));
        var killed = Stopwatch.StartNew();
        // While it is down, a chat is a clear 503 naming the missing decode worker (and the gateway stays up).
        string down = await OpenAiCalls.RunAsync(launcher.Gateway, "/v1/chat/completions", chat, ct);
        Assert.StartsWith("HTTP 503", down);
        Assert.Contains("decode", down);

        string last = down;
        while (!last.Contains("\"finish\""))
        {
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(30), $"no successful chat 30 s after the kill; last answer: {last}\n{launcher.Output}");
            await Task.Delay(250, ct);
            last = await OpenAiCalls.RunAsync(launcher.Gateway, "/v1/chat/completions", chat, ct);
            if (!last.Contains("\"finish\"")) Assert.StartsWith("HTTP 503", last);
        }
        Assert.Contains("restarting decode1", launcher.Output);
        Assert.NotEqual(decode, launcher.PidOf("decode1"));
        Assert.False(launcher.Process.HasExited);
        await launcher.StopAsync(ct);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
