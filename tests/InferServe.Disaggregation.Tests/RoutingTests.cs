using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>Cache-aware routing keeps each long shared prefix on the prefill worker that already holds it.</summary>
public sealed class RoutingTests(ITestOutputHelper log)
{
    [Fact(Timeout = 600_000)]
    public async Task Cache_aware_routing_hits_the_prefix_cache_at_least_one_and_a_half_times_as_often_as_round_robin()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin");
        double cacheAware = await HitRateAsync(model, "cache-aware", ct);
        double roundRobin = await HitRateAsync(model, "round-robin", ct);
        log.WriteLine($"prefill prefix-cache hit rate over 28 requests on 7 shared prefixes, 2 prefill workers of 64 blocks: cache-aware {cacheAware:P1}, round-robin {roundRobin:P1}");
        Assert.True(cacheAware > 0.5, $"cache-aware hit rate {cacheAware:P1}");
        Assert.True(cacheAware >= 1.5 * roundRobin, $"cache-aware {cacheAware:P1} vs round-robin {roundRobin:P1}");
    }

    [Fact(Timeout = 600_000)]
    public async Task Responses_follow_ups_by_previous_response_id_go_to_the_prefill_worker_holding_the_conversation()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin");
        await using var t = await Topology.StartAsync(new TopologyOptions { Model = model, PrefillWorkers = 2, ChatTemplate = ParityTests.StoryTemplate }, ct);
        // Several conversations at once, each continued twice: every follow-up's prompt starts with its earlier turns.
        string[] subjects = ["a little dog", "a shy cat", "a happy bird", "a kind girl"];
        var ids = new string?[subjects.Length];
        for (int turn = 0; turn < 3; turn++)
        {
            for (int c = 0; c < subjects.Length; c++)
            {
                var body = new JsonObject
                {
                    ["model"] = Topology.ServedName, ["max_output_tokens"] = 8, ["temperature"] = 0,
                    ["input"] = turn == 0 ? string.Concat(Enumerable.Repeat($"Once upon a time there was {subjects[c]} who lived near the sea. ", 4)) : $" Then {turn}.",
                    ["previous_response_id"] = ids[c],
                };
                using var response = await OpenAiCalls.Http.PostAsync(t.Gateway.HttpBase + "/v1/responses",
                    new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), ct);
                var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!;
                Assert.True(response.IsSuccessStatusCode, answer.ToJsonString());
                ids[c] = answer["id"]!.GetValue<string>();
                int cached = answer["usage"]!["input_tokens_details"]!["cached_tokens"]!.GetValue<int>();
                if (turn > 0) Assert.True(cached >= 16, $"conversation {c} turn {turn}: {cached} cached tokens of {answer["usage"]!["input_tokens"]}");
            }
        }

        Assert.True(await t.Gateway.MetricAsync("inferserve_router_decisions_total", "reason=\"prefix_hit\"", ct) >= 8);
    }

    /// <summary>
    /// Seven ~180-token prefixes, visited in turn four times, each with its own short question. Each prefill worker's
    /// pool (64 blocks) holds about five prefixes: enough for the half a cache-aware router sends it, too few for all seven.
    /// </summary>
    private static async Task<double> HitRateAsync(string model, string routing, CancellationToken ct)
    {
        await using var t = await Topology.StartAsync(new TopologyOptions
        {
            Model = model, PrefillWorkers = 2, Routing = routing, PrefillArgs = ["--kv-cache-memory", (64 * 16 * 1280).ToString()],
        }, ct);
        string[] subjects = ["a little dog", "a big red ball", "a shy cat", "a tall tree", "a happy bird", "a small boat", "a kind girl"];
        var prefixes = subjects.Select(s => string.Concat(Enumerable.Repeat($"Once upon a time there was {s} who lived near the sea and played every day. ", 5))).ToArray();
        for (int round = 0; round < 4; round++)
        {
            for (int p = 0; p < prefixes.Length; p++)
            {
                var body = new JsonObject { ["model"] = Topology.ServedName, ["prompt"] = prefixes[p] + $" Question {round}:", ["max_tokens"] = 4, ["temperature"] = 0 };
                Assert.Contains("\"finish\"", await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions", body, ct));
            }
        }

        double hits = 0, queries = 0;
        foreach (var w in t.Prefill)
        {
            hits += await w.MetricAsync("inferserve_prefix_cache_hits_total", ct: ct);
            queries += await w.MetricAsync("inferserve_prefix_cache_queries_total", ct: ct);
        }
        Assert.True(queries > 0);
        return hits / queries;
    }
}
