using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using InferServe.Api.Grpc.V1;
using InferServe.Disaggregation.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>Workers die and clients leave: no request hangs, none is lost that can be saved, and no KV block is stranded.</summary>
public sealed class FailureTests(ITestOutputHelper log)
{
    private static string TinyModel() => TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));

    private static JsonObject Long(int seed, int maxTokens = 900) => new()
    {
        ["model"] = Topology.ServedName, ["prompt"] = "Once upon a time", ["max_tokens"] = maxTokens, ["temperature"] = 0.8, ["seed"] = seed, ["ignore_eos"] = true,
    };

    [Fact(Timeout = 300_000)]
    public async Task A_decode_worker_killed_mid_stream_ends_its_streams_with_an_error_event_while_the_other_keeps_serving()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = TinyModel(), DecodeWorkers = 2, PrefillArgs = ["--kv-lease-seconds", "5"] }, ct);
        var streams = new List<SseStream>();
        for (int i = 0; i < 6; i++) streams.Add(await SseStream.OpenAsync(t.Gateway.HttpBase, Long(i), ct));
        var readers = streams.Select(s => s.ReadToEndAsync(ct)).ToList();
        await Task.WhenAll(streams.Select(s => s.FirstChunk));
        var victim = t.Decode[0];
        var survivor = t.Decode[1];
        // The first chunk comes from the prefill worker. A request the victim holds but has not streamed from yet is
        // retried elsewhere when it dies, so wait until it has streamed tokens and still has requests running.
        await victim.WaitForMetricAsync("streams decoding on the victim", async p =>
            await p.MetricAsync("inferserve_generation_tokens_total", ct: ct) > 0
            && await p.MetricAsync("inferserve_num_requests_running", ct: ct) > 0, TimeSpan.FromSeconds(30), ct);

        long killedAt = Stopwatch.GetTimestamp();
        victim.Kill();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60), ct);

        var failed = streams.Where(s => s.Error is not null).ToList();
        Assert.NotEmpty(failed);
        Assert.All(failed, s => Assert.Equal("error", s.Finish));
        // The error event says which worker was lost.
        Assert.All(failed, s => Assert.Contains($"decode worker {victim.GrpcAddress} was lost", s.Error));
        Assert.All(streams.Except(failed), s => Assert.Equal("length", s.Finish));
        Assert.All(streams, s => Assert.True(s.Done, "every stream ends with [DONE]"));
        double worst = failed.Max(s => Stopwatch.GetElapsedTime(killedAt, s.ErrorAt).TotalSeconds);
        log.WriteLine($"{failed.Count} of {streams.Count} streams were on the killed decode worker; their error events came {worst * 1000:F0} ms after SIGKILL at worst");
        Assert.True(worst < 30, $"the error event took {worst:F1} s");

        // New work goes to the surviving decode worker.
        var after = await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions", Long(99, 20), ct);
        Assert.Contains("\"finish\":\"length\"", after);
        Assert.Equal(0, await t.Gateway.MetricAsync("inferserve_worker_healthy", $"worker=\"{victim.GrpcAddress}\"", ct));
        // The prefill worker holds nothing for the dead worker once its leases are picked up, released or expired.
        var prefill = t.Prefill[0];
        await prefill.WaitKvIdleAsync(ct, 10); // the 5 s lease plus room for a busy machine
        await survivor.WaitKvIdleAsync(ct, 30);
        foreach (var s in streams) await s.DisposeAsync();
    }

    [Fact(Timeout = 300_000)]
    public async Task A_decode_worker_given_sigterm_finishes_its_streams_and_takes_no_new_work()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = TinyModel(), DecodeWorkers = 2 }, ct);
        var streams = new List<SseStream>();
        for (int i = 0; i < 4; i++) streams.Add(await SseStream.OpenAsync(t.Gateway.HttpBase, Long(i, 600), ct));
        var readers = streams.Select(s => s.ReadToEndAsync(ct)).ToList();
        await Task.WhenAll(streams.Select(s => s.FirstChunk));
        var draining = t.Decode[0];
        await draining.WaitForMetricAsync("streams decoding on the draining worker", async p => await p.MetricAsync("inferserve_num_requests_running", ct: ct) > 0, TimeSpan.FromSeconds(30), ct);

        draining.Terminate();
        await t.Gateway.WaitForMetricAsync("the draining worker taken out of rotation", async g =>
            await g.MetricAsync("inferserve_worker_healthy", $"worker=\"{draining.GrpcAddress}\"", ct) == 0, TimeSpan.FromSeconds(30), ct);
        var during = await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions", Long(50, 20), ct);
        Assert.Contains("\"finish\":\"length\"", during);

        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.All(streams, s =>
        {
            Assert.Null(s.Error);
            Assert.Equal("length", s.Finish);
        });
        Assert.Equal(0, await draining.WaitForExitAsync(TimeSpan.FromSeconds(30), ct));
        foreach (var s in streams) await s.DisposeAsync();
    }

    [Fact(Timeout = 300_000)]
    public async Task A_prefill_worker_killed_under_load_loses_no_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = TinyModel(), PrefillWorkers = 2, WithAll = true, Routing = "round-robin" }, ct);
        var requests = Enumerable.Range(0, 30).Select(i => new JsonObject
        {
            ["model"] = Topology.ServedName, ["prompt"] = $"Request {i}: once upon a time there was a long story to tell", ["max_tokens"] = 40, ["temperature"] = 0,
        }).ToList();
        var expected = new List<string>();
        foreach (var r in requests) expected.Add(await OpenAiCalls.RunAsync(t.All!.HttpBase, "/v1/completions", r, ct));

        using var gate = new SemaphoreSlim(4);
        int completed = 0;
        var victim = t.Prefill[0];
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = requests.Select(async r =>
        {
            await gate.WaitAsync(ct);
            try
            {
                var result = await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions", r, ct);
                if (Interlocked.Increment(ref completed) == 6)
                {
                    victim.Kill();
                    killed.SetResult();
                }
                return result;
            }
            finally { gate.Release(); }
        }).ToList();
        var actual = await Task.WhenAll(tasks);
        await killed.Task;
        for (int i = 0; i < requests.Count; i++) Assert.True(expected[i] == actual[i], $"request {i}: {actual[i]} != {expected[i]}\n{t.Logs()}");
        log.WriteLine($"prefill retries {await t.Gateway.MetricAsync("inferserve_router_failovers_total", "action=\"retry\"", ct)}, " +
                      $"decode-side recomputes {await t.Decode[0].MetricAsync("inferserve_kv_import_fallbacks", ct: ct)}");
        await t.Gateway.WaitForMetricAsync("the killed prefill worker marked down", async g =>
            await g.MetricAsync("inferserve_worker_healthy", $"worker=\"{victim.GrpcAddress}\"", ct) == 0, TimeSpan.FromSeconds(30), ct);
        await t.Prefill[1].WaitKvIdleAsync(ct, 60);
    }

    [Fact(Timeout = 300_000)]
    public async Task Ready_says_whether_the_gateway_can_serve_200_and_degraded_without_a_prefill_worker_503_without_a_decode_worker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = TinyModel() }, ct);
        Assert.Equal("{\"status\":\"ready\"}", await OpenAiCalls.Http.GetStringAsync(t.Gateway.HttpBase + "/ready", ct));

        var prefill = t.Prefill[0];
        prefill.Kill();
        await t.Gateway.WaitForMetricAsync("the prefill worker marked down", async g =>
            await g.MetricAsync("inferserve_worker_healthy", $"worker=\"{prefill.GrpcAddress}\"", ct) == 0, TimeSpan.FromSeconds(30), ct);
        // The decode worker prefills prompts itself: requests still succeed, and /ready says so with what is degraded.
        Assert.Contains("\"finish\":\"length\"", await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions", Long(1, 8), ct));
        using (var ready = await OpenAiCalls.Http.GetAsync(t.Gateway.HttpBase + "/ready", ct))
        {
            var body = await ready.Content.ReadAsStringAsync(ct);
            Assert.True(ready.StatusCode == HttpStatusCode.OK, body);
            var doc = JsonNode.Parse(body)!;
            Assert.Equal("ready", doc["status"]!.GetValue<string>());
            Assert.Contains("no healthy prefill worker", doc["degraded"]!.GetValue<string>());
            Assert.Contains(prefill.GrpcAddress, doc["degraded"]!.GetValue<string>());
        }

        var decode = t.Decode[0];
        decode.Kill();
        await t.Gateway.WaitForMetricAsync("the decode worker marked down", async g =>
            await g.MetricAsync("inferserve_worker_healthy", $"worker=\"{decode.GrpcAddress}\"", ct) == 0, TimeSpan.FromSeconds(30), ct);
        using var notReady = await OpenAiCalls.Http.GetAsync(t.Gateway.HttpBase + "/ready", ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("no healthy decode worker", await notReady.Content.ReadAsStringAsync(ct));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_client_that_disconnects_mid_stream_frees_the_kv_on_both_workers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = TinyModel() }, ct);
        var prefill = t.Prefill[0];
        var decode = t.Decode[0];

        // Over HTTP: read the first chunk, then hang up.
        var stream = await SseStream.OpenAsync(t.Gateway.HttpBase, Long(1), ct);
        var reading = stream.ReadToEndAsync(ct);
        await stream.FirstChunk;
        await stream.DisposeAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => reading);
        await AssertBaselineAsync(prefill, decode, ct);

        // Over the public gRPC API: cancel a Generate stream after its first message.
        using (var channel = GrpcCalls.Channel(t.Gateway.GrpcAddress))
        {
            var client = new Inference.InferenceClient(channel);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var call = client.Generate(new GenerateRequest { Text = "Once upon a time", MaxTokens = 900, Temperature = 0.8f, Seed = 3, IgnoreEos = true }, new CallOptions(cancellationToken: cts.Token));
            Assert.True(await call.ResponseStream.MoveNext(ct));
            cts.Cancel();
            call.Dispose();
        }
        await AssertBaselineAsync(prefill, decode, ct);
        Assert.Equal(0, await decode.MetricAsync("inferserve_num_requests_running", ct: ct));
    }

    private static async Task AssertBaselineAsync(ServerProcess prefill, ServerProcess decode, CancellationToken ct)
    {
        foreach (var w in new[] { prefill, decode })
            await w.WaitKvIdleAsync(ct, 20);
    }
}
