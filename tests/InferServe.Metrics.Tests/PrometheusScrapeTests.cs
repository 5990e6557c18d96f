using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using InferServe.TestSupport;


namespace InferServe.Metrics.Tests;

/// <summary>
/// End to end: a real /usr/bin/prometheus scrapes our Kestrel /metrics endpoint every second, and its query API
/// returns the engine metric values we recorded (so the real parser accepts the "inferserve_" names,
/// escaping and histograms).
/// Takes ~6-7 s: Prometheus 2.42 hands new static targets from discovery to the scrape manager on fixed 5 s tickers
/// (no flag to shorten them); startup itself is ~0.2 s and the scrape interval is 1 s.
/// </summary>
public class PrometheusScrapeTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 90_000)]
    public async Task Prometheus_ScrapesEngineMetrics_AndQueriesReturnRecordedValues()
    {
        string prometheusPath = PrometheusTools.Require(PrometheusTools.Prometheus);
        var ct = TestContext.Current.CancellationToken;
        var (registry, metrics) = EngineMetricsSample.Create();
        await using var server = await MetricsServer.StartAsync(registry, ct);
        await using var prometheus = await PrometheusProcess.StartAsync(prometheusPath, server.BaseAddress, ct);

        var tokens = await prometheus.WaitForSampleAsync("inferserve_generation_tokens_total", "30", ct);
        Assert.Equal(EngineMetricsSample.Model, tokens.GetProperty("metric").GetProperty("model_name").GetString());

        await prometheus.WaitForSampleAsync("inferserve_kv_cache_usage_perc", "0.25", ct);
        await prometheus.WaitForSampleAsync("inferserve_request_success_total{finished_reason=\"length\"}", "1", ct);
        await prometheus.WaitForSampleAsync("inferserve_time_to_first_token_seconds_bucket{le=\"0.1\"}", "1", ct);
        await prometheus.WaitForSampleAsync("inferserve_cache_config_info{cache_dtype=\"int8\",num_gpu_blocks=\"4096\"}", "1", ct);

        // Later updates show up on the following scrapes.
        metrics.RecordTokens(0, 12);
        await prometheus.WaitForSampleAsync("inferserve_generation_tokens_total", "42", ct);
    }

    /// <summary>A prometheus process with a temp config and storage, killed and cleaned up on dispose.</summary>
    private sealed class PrometheusProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;
        private readonly StringBuilder _log = new();
        private readonly HttpClient _http;

        private PrometheusProcess(Process process, string directory, Uri api)
        {
            _process = process;
            _directory = directory;
            _http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(5) };
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public static async Task<PrometheusProcess> StartAsync(string path, Uri target, CancellationToken ct)
        {
            string directory = Directory.CreateTempSubdirectory("inferserve-prom-").FullName;
            string config = Path.Combine(directory, "prometheus.yml");
            await File.WriteAllTextAsync(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: inferserve
                    metrics_path: /metrics
                    static_configs:
                      - targets: ['{target.Authority}']
                """, ct);
            int port = FreeLoopbackPort();
            var psi = new ProcessStartInfo(path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = directory,
            };
            foreach (var arg in new[]
            {
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            })
            {
                psi.ArgumentList.Add(arg);
            }

            var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start prometheus");
            return new PrometheusProcess(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        }

        /// <summary>Polls the query API until <paramref name="query"/> returns one sample equal to <paramref name="expected"/>.</summary>
        public async Task<JsonElement> WaitForSampleAsync(string query, string expected, CancellationToken ct)
        {
            var deadline = Stopwatch.StartNew();
            string last = "(no response)";
            while (deadline.Elapsed < WaitLimit)
            {
                if (_process.HasExited)
                    Assert.Fail($"prometheus exited with {_process.ExitCode}:\n{Log}");
                try
                {
                    using var response = await _http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(query), ct);
                    last = await response.Content.ReadAsStringAsync(ct);
                    if (response.IsSuccessStatusCode)
                    {
                        var result = JsonDocument.Parse(last).RootElement.GetProperty("data").GetProperty("result");
                        if (result.GetArrayLength() == 1 && result[0].GetProperty("value")[1].GetString() == expected)
                            return result[0].Clone();
                    }
                }
                catch (HttpRequestException e) { last = e.Message; } // not listening yet
                catch (TaskCanceledException e) when (!ct.IsCancellationRequested) { last = e.Message; }
                await Task.Delay(200, ct);
            }
            Assert.Fail($"Timed out after {WaitLimit.TotalSeconds}s waiting for {query} == {expected}; last response: {last}\nprometheus log:\n{Log}");
            throw new UnreachableException();
        }

        private string Log { get { lock (_log) return _log.ToString(); } }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (_log) _log.AppendLine(line);
        }

        private static int FreeLoopbackPort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await _process.WaitForExitAsync(cts.Token);
                }
            }
            finally
            {
                _process.Dispose();
                try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
