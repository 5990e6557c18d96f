using System.Text;
using Grpc.Core;
using InferServe.Api.Grpc.V1;
using InferServe.Disaggregation.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace InferServe.Disaggregation.Tests;

/// <summary>
/// A request served by a gateway, a prefill worker and a decode worker (every prompt prefilled remotely, so every
/// request crosses a KV transfer) produces exactly what the one-process server produces.
/// </summary>
public sealed class ParityTests(ITestOutputHelper log)
{
    internal const string StoryTemplate = "{% for m in messages %}{{ m['content'] }}{% endfor %}";

    [Theory(Timeout = 600_000)]
    [InlineData("fp32")]
    [InlineData("int8")]
    [InlineData("int4")]
    public async Task Stories260K_split_across_workers_equals_the_one_process_server(string kvDtype)
    {
        var dir = TestPaths.RequireStories260K();
        await AssertParityAsync(Path.Combine(dir, "stories260K.bin"), kvDtype, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 900_000)]
    public async Task A_64_channel_head_model_split_across_workers_equals_the_one_process_server_and_quantized_kv_moves_fewer_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = TestModelGenerator.Ensure(ModelSpec.TinyH64, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny-h64"));
        var perToken = new Dictionary<string, double>();
        foreach (var dtype in new[] { "fp32", "int8", "int4" }) perToken[dtype] = await AssertParityAsync(model, dtype, ct);
        log.WriteLine($"KV transfer bytes per prompt token (tiny-h64, 1 KV head x 64 channels, 2 layers): fp32 {perToken["fp32"]:F1}, int8 {perToken["int8"]:F1} ({perToken["int8"] / perToken["fp32"]:F3}x), int4 {perToken["int4"]:F1} ({perToken["int4"] / perToken["fp32"]:F3}x)");
        Assert.True(perToken["int8"] <= 0.3 * perToken["fp32"], $"int8 moves {perToken["int8"] / perToken["fp32"]:F3}x fp32's bytes");
        Assert.True(perToken["int4"] <= 0.17 * perToken["fp32"], $"int4 moves {perToken["int4"] / perToken["fp32"]:F3}x fp32's bytes");
    }

    /// <summary>Runs the mixed requests through both deployments and returns KV bytes received per prompt token.</summary>
    private async Task<double> AssertParityAsync(string model, string kvDtype, CancellationToken ct)
    {
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = model, KvDtype = kvDtype, WithAll = true, ChatTemplate = StoryTemplate, ToolCallParser = "hermes" }, ct);
        var requests = OpenAiCalls.MixedRequests();
        var expected = await RunAllAsync(t.All!.HttpBase, requests, ct);
        var actual = await RunAllAsync(t.Gateway.HttpBase, requests, ct);
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.DoesNotContain("HTTP ", expected[i]);
            Assert.True(expected[i] == actual[i], $"request {i} ({requests[i].Path} {requests[i].Body.ToJsonString()}) differs with {kvDtype} KV:\n one process: {expected[i]}\n split:       {actual[i]}\n{t.Logs()}");
            // Structured outputs are closed within max_tokens on the decode worker as in one process.
            if (requests[i].Body.ContainsKey("response_format"))
            {
                Assert.Contains("\"finish\":\"stop\"", actual[i]);
                Assert.DoesNotContain("\"finish\":\"length\"", actual[i]);
            }
            if (requests[i].Body["text"] is not null) Assert.Contains("\"status\":\"completed\"", actual[i]);
            if (requests[i].Body["tools"] is not null) Assert.Contains("\"type\":\"function_call\"", actual[i]);
        }
        foreach (var (request, index) in GrpcRequests().Select((r, i) => (r, i)))
            Assert.Equal(await GrpcAsync(t.All.GrpcAddress, request, ct), await GrpcAsync(t.Gateway.GrpcAddress, request, ct));

        var prefill = t.Prefill[0];
        var decode = t.Decode[0];
        double received = await decode.MetricAsync("inferserve_kv_transfer_bytes_total", "received", ct);
        double sent = await prefill.MetricAsync("inferserve_kv_transfer_bytes_total", "sent", ct);
        Assert.True(received > 0, "no KV crossed from the prefill worker to the decode worker");
        Assert.Equal(sent, received);
        // Every request was prefilled remotely (none fell back), and every lease was picked up by a decode (n=2 shares
        // its prompt's lease; a request that finished with its first token needed none): none is left over.
        Assert.Equal(0, await t.Gateway.MetricAsync("inferserve_router_failovers_total", ct: ct));
        Assert.Equal(requests.Count + GrpcRequests().Count, await t.Gateway.MetricAsync("inferserve_router_decisions_total", "role=\"prefill\"", ct));
        double decodes = await t.Gateway.MetricAsync("inferserve_router_decisions_total", "reason=\"after_prefill\"", ct);
        Assert.InRange(decodes, requests.Count + GrpcRequests().Count - 3, requests.Count + GrpcRequests().Count - 1);
        Assert.Equal(decodes, await prefill.MetricAsync("inferserve_kv_leases_released", ct: ct));
        Assert.Equal(0, await prefill.MetricAsync("inferserve_kv_leases_held", ct: ct));
        Assert.Equal(0, await decode.MetricAsync("inferserve_kv_import_fallbacks", ct: ct));
        // Prompt tokens the prefill worker ran, as its prefix-cache lookups count them (each request once).
        double promptTokens = await prefill.MetricAsync("inferserve_prefix_cache_queries_total", ct: ct);
        // Prompt logprobs need the prompt's logits, which stay on the prefill worker: the gateway refuses them clearly.
        var echo = await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions",
            new System.Text.Json.Nodes.JsonObject { ["prompt"] = "Once", ["max_tokens"] = 2, ["echo"] = true, ["logprobs"] = 1 }, ct);
        Assert.StartsWith("HTTP 400", echo);
        Assert.Contains("\"param\":\"echo\"", echo);
        // A follow-up by previous_response_id: the gateway keeps the store, and the continued prompt is the same.
        Assert.Equal(await ResponsesCalls.TwoTurnsAsync(t.All.HttpBase, ct), await ResponsesCalls.TwoTurnsAsync(t.Gateway.HttpBase, ct));
        log.WriteLine($"{Path.GetFileName(model)} {kvDtype}: {requests.Count} HTTP + {GrpcRequests().Count} gRPC requests equal; {received} KV bytes for {promptTokens} prompt tokens");
        return received / promptTokens;
    }

    private static async Task<List<string>> RunAllAsync(string baseUrl, IReadOnlyList<(string Path, System.Text.Json.Nodes.JsonObject Body)> requests, CancellationToken ct)
    {
        // Four at a time: the workers batch them, as they would under load.
        using var gate = new SemaphoreSlim(4);
        var tasks = requests.Select(async r =>
        {
            await gate.WaitAsync(ct);
            try { return await OpenAiCalls.RunAsync(baseUrl, r.Path, r.Body, ct); }
            finally { gate.Release(); }
        }).ToList();
        return [.. await Task.WhenAll(tasks)];
    }

    private static IReadOnlyList<GenerateRequest> GrpcRequests() =>
    [
        new GenerateRequest { Text = "Once upon a time", MaxTokens = 20, Temperature = 0, Logprobs = 2 },
        new GenerateRequest { Text = "The little bird", MaxTokens = 20, Temperature = 0.9f, Seed = 42, N = 2 },
        new GenerateRequest { Text = "Lily went", MaxTokens = 16, Temperature = 0, MinTokens = 8, LogitBias = { [300] = 3f }, IncludeStopStrInOutput = true, StopTokenIds = { 13 } },
    ];

    private static async Task<string> GrpcAsync(string address, GenerateRequest request, CancellationToken ct)
    {
        using var clientChannel = GrpcCalls.Channel(address);
        var client = new InferServe.Api.Grpc.V1.Inference.InferenceClient(clientChannel);
        using var call = client.Generate(request, new CallOptions(cancellationToken: ct));
        var text = new SortedDictionary<int, StringBuilder>();
        var tail = new StringBuilder();
        await foreach (var m in call.ResponseStream.ReadAllAsync(ct))
        {
            (text.TryGetValue(m.Index, out var sb) ? sb : text[m.Index] = new StringBuilder()).Append(m.Text);
            tail.Append($"[{m.Index}:{string.Join(',', m.TokenIds)}:{string.Join(',', m.Logprobs.Select(l => l.Logprob))}:{m.FinishReason}]");
        }
        return string.Join("|", text.Select(kv => $"{kv.Key}={kv.Value}")) + tail;
    }
}
