using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferServe.Cli.Options;

namespace InferServe.Cli;

/// <summary>
/// `inferserve bench-serve`: an open-loop load against a running server's OpenAI endpoint. Requests arrive as a
/// Poisson process at a fixed rate (whatever the server's speed), each streams random token prompts with ignore_eos,
/// and the client measures time to first token and time per output token. Throughput counts completed requests only.
/// </summary>
public static class BenchServeCommand
{
    private static readonly Option<string?> Url = Opt.Text("--url", "the server's HTTP address, e.g. http://127.0.0.1:8000 (required)", helpName: "URL");
    private static readonly Option<double?> Rate = Opt.Float("--rate", "requests per second, Poisson arrivals", 0.001, @default: 1);
    private static readonly Option<int?> Requests = Opt.Int("--requests", "requests to send", 1, @default: 50);
    private static readonly Option<int?> PromptTokens = Opt.Int("--prompt-tokens", "random prompt length in tokens", 1, @default: 256);
    private static readonly Option<int?> MaxTokens = Opt.Int("--max-tokens", "output tokens per request, ignore_eos", 1, @default: 64);
    private static readonly Option<int?> Vocab = Opt.Int("--vocab", "prompt token ids are drawn below this", 2, @default: 1000);
    private static readonly Option<int?> Seed = Opt.Int("--seed", "arrivals and prompts", @default: 1);
    private static readonly Option<string?> Label = Opt.Text("--label", "name of this run in the output (default: the URL)", helpName: "TEXT");
    private static readonly Option<string?> Json = Opt.Text("--json", "append the summary as one JSON line", helpName: "FILE");

    private sealed record Result(bool Ok, double Ttft, double Tpot, double E2e, int Tokens, string? Error);

    public static Command Create() => Opt.Command("bench-serve", "Open-loop load at a fixed request rate against a running server: TTFT and TPOT percentiles",
        [Url, Rate, Requests, PromptTokens, MaxTokens, Vocab, Seed, Label, Json], RunAsync);

    private static async Task<int> RunAsync(ParseResult p)
    {
        // Required by hand, not Option.Required: its message would not say what the URL is.
        var url = (p.GetValue(Url) ?? throw new UsageException("--url is required (the server's HTTP address).")).TrimEnd('/');
        double rate = p.GetValue(Rate)!.Value;
        int requests = p.GetValue(Requests)!.Value;
        int promptTokens = p.GetValue(PromptTokens)!.Value;
        int maxTokens = p.GetValue(MaxTokens)!.Value;
        int vocab = p.GetValue(Vocab)!.Value;
        int seed = p.GetValue(Seed)!.Value;
        var label = p.GetValue(Label) ?? url;
        var json = p.GetValue(Json);

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { Timeout = TimeSpan.FromMinutes(10) };
        var model = await ModelNameAsync(http, url);
        var rng = new Random(seed);
        var prompts = Enumerable.Range(0, requests).Select(_ => Enumerable.Range(0, promptTokens).Select(_ => rng.Next(3, vocab)).ToArray()).ToArray();
        var arrivals = new double[requests];
        for (int i = 1; i < requests; i++) arrivals[i] = arrivals[i - 1] - Math.Log(1 - rng.NextDouble()) / rate;

        var started = Stopwatch.GetTimestamp();
        var tasks = new Task<Result>[requests];
        for (int i = 0; i < requests; i++)
        {
            var wait = TimeSpan.FromSeconds(arrivals[i]) - Stopwatch.GetElapsedTime(started);
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            tasks[i] = SendAsync(http, url, model, prompts[i], maxTokens);
        }
        var results = await Task.WhenAll(tasks);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var ok = results.Where(r => r.Ok).ToArray();
        var summary = new JsonObject
        {
            ["label"] = label, ["url"] = url, ["rate"] = rate, ["requests"] = requests, ["completed"] = ok.Length, ["failed"] = requests - ok.Length,
            ["prompt_tokens"] = promptTokens, ["max_tokens"] = maxTokens, ["duration_s"] = Round(seconds),
            ["request_throughput"] = Round(ok.Length / seconds), ["output_tok_per_s"] = Round(ok.Sum(r => r.Tokens) / seconds),
            ["ttft_ms_p50"] = Ms(ok.Select(r => r.Ttft), 50), ["ttft_ms_p99"] = Ms(ok.Select(r => r.Ttft), 99),
            ["tpot_ms_p50"] = Ms(ok.Select(r => r.Tpot), 50), ["tpot_ms_p99"] = Ms(ok.Select(r => r.Tpot), 99),
            ["e2e_ms_p50"] = Ms(ok.Select(r => r.E2e), 50), ["e2e_ms_p99"] = Ms(ok.Select(r => r.E2e), 99),
        };
        Console.WriteLine($"{label}: {ok.Length}/{requests} completed in {seconds:F1} s at {rate} req/s offered; " +
                          $"TTFT p50 {summary["ttft_ms_p50"]} ms p99 {summary["ttft_ms_p99"]} ms; TPOT p50 {summary["tpot_ms_p50"]} ms p99 {summary["tpot_ms_p99"]} ms; " +
                          $"{summary["output_tok_per_s"]} output tok/s");
        foreach (var e in results.Where(r => !r.Ok).Select(r => r.Error).Distinct().Take(5)) Console.WriteLine($"  failed: {e}");
        if (json is not null) await File.AppendAllTextAsync(json, summary.ToJsonString() + "\n");
        return ok.Length == requests ? 0 : 1;
    }

    private static async Task<string> ModelNameAsync(HttpClient http, string url)
    {
        try
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync(url + "/v1/models"));
            return doc.RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw new UsageException($"{url}/v1/models did not answer with a model: {e.Message}");
        }
    }

    private static async Task<Result> SendAsync(HttpClient http, string url, string model, int[] prompt, int maxTokens)
    {
        var body = new JsonObject
        {
            ["model"] = model, ["prompt"] = new JsonArray([.. prompt.Select(t => (JsonNode)t)]), ["max_tokens"] = maxTokens, ["temperature"] = 0,
            ["ignore_eos"] = true, ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url + "/v1/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) return new(false, 0, 0, 0, 0, $"HTTP {(int)response.StatusCode}");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            double first = -1, last = 0;
            int tokens = 0;
            string? error = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ") || line == "data: [DONE]") continue;
                var chunk = JsonNode.Parse(line.AsSpan(6).ToString())!;
                if (chunk["error"] is { } e) error = e["message"]?.GetValue<string>();
                if (chunk["usage"] is JsonObject u) tokens = u["completion_tokens"]!.GetValue<int>();
                if (chunk["choices"] is JsonArray { Count: > 0 })
                {
                    last = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (first < 0) first = last;
                }
            }
            if (error is not null || tokens == 0) return new(false, 0, 0, 0, 0, error ?? "no tokens");
            return new(true, first, tokens > 1 ? (last - first) / (tokens - 1) : 0, last, tokens, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return new(false, 0, 0, 0, 0, e.Message);
        }
    }

    private static double Round(double v) => Math.Round(v, 2);

    private static double Ms(IEnumerable<double> seconds, double percentile)
    {
        var sorted = seconds.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        int index = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return Math.Round(sorted[Math.Clamp(index, 0, sorted.Length - 1)] * 1000, 1);
    }
}
