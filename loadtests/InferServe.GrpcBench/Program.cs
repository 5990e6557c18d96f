using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using InferServe.Api.Grpc.V1;
using InferServe.Transport;
using InferServe.Transport.V1;

// inferserve-grpc-bench LABEL PREFILL_GRPC DECODE_GRPC DECODE_HTTP API_GRPC [PROMPT_TOKENS PULLS UNARY_CALLS STREAMS]
// Prints one line per measurement: "LABEL metric value unit".
var label = args[0];
string prefill = args[1], decode = args[2], decodeHttp = args[3], api = args[4];
int promptTokens = Arg(5, 2048), pulls = Arg(6, 20), unaryCalls = Arg(7, 2000), streams = Arg(8, 20);
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
var ct = timeout.Token;

using var prefillChannel = new WorkerChannel(prefill);
using var decodeChannel = new WorkerChannel(decode);
var prompt = Enumerable.Range(0, promptTokens).Select(i => 10 + i * 7 % 40000).ToArray();

// (a) PullKv straight from the prefill worker: a fresh lease per pull (the prompt's blocks are prefix-cached after
// the first prefill, so each prefill is cheap), the stream timed from the call to its last chunk.
var pullRates = new List<double>();
long pulledBytes = 0;
double pulledSeconds = 0;
for (int i = -2; i < pulls; i++)
{
    var lease = await PrefillAsync($"pull-{i}");
    var started = Stopwatch.GetTimestamp();
    long bytes = 0;
    using (var call = prefillChannel.Worker.PullKv(new PullKvRequest { LeaseId = lease.LeaseId }, cancellationToken: ct))
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(ct)) bytes += chunk.Data.Length;
    double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    if (i < 0) continue; // warm-up
    pullRates.Add(bytes / seconds / 1e6);
    pulledBytes += bytes;
    pulledSeconds += seconds;
}
Report("kv_pull_bytes_per_lease", pulledBytes / pulls, "B");
Report("kv_pull_throughput_median", Percentile(pullRates, 50), "MB/s");
Report("kv_pull_throughput_total", pulledBytes / pulledSeconds / 1e6, "MB/s");

// (a') Prefill worker to decode worker: the decode worker pulls with its own client (the build under test);
// its transfer metrics time the pull alone.
var (bytes0, seconds0) = await DecodeTransferMetricsAsync();
for (int i = 0; i < pulls; i++)
{
    var lease = await PrefillAsync($"decode-{i}");
    var request = new DecodeRequest { Request = Wire($"decode-{i}"), KvSource = prefill, LeaseId = lease.LeaseId, CachedTokens = lease.CachedTokens, Blocks = lease.Blocks };
    request.First.AddRange(lease.First);
    using var call = decodeChannel.Worker.Decode(request, cancellationToken: ct);
    await foreach (var _ in call.ResponseStream.ReadAllAsync(ct)) { }
}
var (bytes1, seconds1) = await DecodeTransferMetricsAsync();
Report("kv_worker_to_worker_throughput", (bytes1 - bytes0) / (seconds1 - seconds0) / 1e6, "MB/s");

// (b) Unary latency of GetModelInfo over one reused channel.
using var apiChannel = GrpcChannel.ForAddress(api);
var inference = new Inference.InferenceClient(apiChannel);
for (int i = 0; i < 200; i++) await inference.GetModelInfoAsync(new ModelInfoRequest(), cancellationToken: ct);
var latencies = new List<double>(unaryCalls);
for (int i = 0; i < unaryCalls; i++)
{
    var started = Stopwatch.GetTimestamp();
    await inference.GetModelInfoAsync(new ModelInfoRequest(), cancellationToken: ct);
    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
}
Report("unary_get_model_info_p50", Percentile(latencies, 50), "ms");
Report("unary_get_model_info_p99", Percentile(latencies, 99), "ms");

// (c) Streaming overhead: a fixed 256-token Generate stream against the same request as one Complete call;
// the difference per token is what streaming each token as its own message costs.
var generate = new GenerateRequest { Text = "Once upon a time", MaxTokens = 256, Temperature = 0, IgnoreEos = true };
double streamMs = 0, unaryMs = 0;
int tokens = 0;
for (int i = -1; i < streams; i++)
{
    var started = Stopwatch.GetTimestamp();
    int n = 0;
    using (var call = inference.Generate(generate, cancellationToken: ct))
        await foreach (var m in call.ResponseStream.ReadAllAsync(ct)) n += m.TokenIds.Count;
    double s = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    started = Stopwatch.GetTimestamp();
    await inference.CompleteAsync(generate, cancellationToken: ct);
    double u = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    if (i < 0) continue;
    streamMs += s;
    unaryMs += u;
    tokens += n;
}
Report("generate_stream_256_wall", streamMs / streams, "ms");
Report("complete_256_wall", unaryMs / streams, "ms");
Report("stream_overhead_per_token", (streamMs - unaryMs) * 1000 / tokens, "us");
return 0;

async Task<PrefillResponse> PrefillAsync(string id)
{
    var response = await prefillChannel.Worker.PrefillAsync(new PrefillRequest { Request = Wire(id) }, cancellationToken: ct);
    if (response.LeaseId.Length == 0) throw new InvalidOperationException("The prefill left no KV lease.");
    return response;
}

Request Wire(string id)
{
    var request = new Request { RequestId = id, MaxTokens = 4, N = 1, IgnoreEos = true, Sampling = new Sampling { Temperature = 0, TopP = 1, RepetitionPenalty = 1 } };
    request.Prompt.AddRange(prompt);
    return request;
}

async Task<(double Bytes, double Seconds)> DecodeTransferMetricsAsync()
{
    using var http = new HttpClient();
    var text = await http.GetStringAsync(decodeHttp.TrimEnd('/') + "/metrics", ct);
    double Value(string name) => text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains("direction=\"received\"", StringComparison.Ordinal))
        .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Sum();
    return (Value("inferserve_kv_transfer_bytes_total"), Value("inferserve_kv_transfer_seconds_sum"));
}

void Report(string metric, double value, string unit) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label} {metric} {value:0.###} {unit}"));

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
