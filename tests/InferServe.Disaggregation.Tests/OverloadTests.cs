using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.ModelGen;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>When the workers' queues are full the gateway answers 429 like one server would, and serves the rest.</summary>
public sealed class OverloadTests
{
    [Fact(Timeout = 300_000)]
    public async Task Full_worker_queues_give_openai_shaped_429s_with_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        var model = TestModelGenerator.Ensure(ModelSpec.Tiny, Path.Combine(TestPaths.GraphCacheDir, "models", "tiny"));
        // One request may wait at the prefill worker; a long prompt in 16-token chunks keeps it there for many steps.
        await using var t = await Topology.StartAsync(new TopologyOptions
        {
            Model = model, PrefillArgs = ["--max-queue", "1", "--max-batched-tokens", "16", "--max-seqs", "1"],
        }, ct);
        var prompt = string.Concat(Enumerable.Repeat("once upon a time ", 120));
        int tooMany = 0, ok = 0;
        // Bursts until one collides with a queued request (the first burst does, unless the machine stalls the senders).
        for (int burst = 0; burst < 5 && tooMany == 0; burst++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
            {
                var body = new JsonObject { ["model"] = Topology.ServedName, ["prompt"] = prompt, ["max_tokens"] = 4, ["temperature"] = 0 };
                using var response = await OpenAiCalls.Http.PostAsync(t.Gateway.HttpBase + "/v1/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), ct);
                return (response.StatusCode, response.Headers.RetryAfter?.ToString(), await response.Content.ReadAsStringAsync(ct));
            }));
            foreach (var (status, retryAfter, text) in answers)
            {
                if (status == HttpStatusCode.OK)
                {
                    ok++;
                }
                else
                {
                    Assert.Equal(HttpStatusCode.TooManyRequests, status);
                    Assert.Equal("1", retryAfter);
                    var error = JsonNode.Parse(text)!["error"]!;
                    Assert.Equal("rate_limit_error", error["type"]!.GetValue<string>());
                    Assert.Contains("queue is full", error["message"]!.GetValue<string>());
                    tooMany++;
                }
            }
        }
        Assert.True(tooMany > 0, "no burst ever found the prefill worker's queue full");
        Assert.True(ok > 0, "the gateway served nothing");
        // Turned-away requests leave nothing behind.
        await t.Prefill[0].WaitKvIdleAsync(ct);
    }
}
