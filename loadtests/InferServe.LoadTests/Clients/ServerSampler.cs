using System.Globalization;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Clients;

/// <summary>Scrapes the server's Prometheus /metrics every interval until stopped (soak monitoring).</summary>
public sealed class ServerSampler(HttpClient http, string baseUrl, TimeSpan interval, RunClock clock)
{
    private readonly List<ServerSample> _samples = [];

    public IReadOnlyList<ServerSample> Samples
    {
        get { lock (_samples) return [.. _samples]; }
    }

    public async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                var text = await http.GetStringAsync(baseUrl + "/metrics", timeout.Token);
                var sample = Parse(text, clock.Now);
                lock (_samples) _samples.Add(sample);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException) { } // a missed scrape is a gap, not a failure
        }
        while (await WaitAsync(timer, ct));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Sums each family over its series (several models or roles); null when the server does not expose it.</summary>
    internal static ServerSample Parse(string text, double now)
    {
        var sums = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int space = line.LastIndexOf(' '), brace = line.IndexOf('{');
            if (space <= 0) continue;
            var name = line[..(brace > 0 && brace < space ? brace : space)];
            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                sums[name] = sums.GetValueOrDefault(name) + v;
        }
        double? Get(string name) => sums.TryGetValue(name, out var v) ? v : null;
        return new ServerSample(now, Get("process_resident_memory_bytes"), Get("inferserve_kv_cache_usage_perc") ?? Get("vllm:kv_cache_usage_perc"),
            Get("inferserve_num_requests_running") ?? Get("vllm:num_requests_running"), Get("inferserve_num_requests_waiting") ?? Get("vllm:num_requests_waiting"),
            Get("process_open_fds"));
    }
}
