using System.Text.Json.Nodes;
using InferServe.LoadTests.Clients;
using InferServe.LoadTests.Datasets;
using InferServe.LoadTests.Load;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Tests;

public sealed class LoadAndDataTests
{
    [Theory]
    [InlineData(1.0, 1.0)]   // Poisson: coefficient of variation squared 1
    [InlineData(0.25, 4.0)]  // bursty
    [InlineData(4.0, 0.25)]  // regular
    public void Gamma_arrivals_keep_the_rate_and_set_the_burstiness(double burstiness, double cv2)
    {
        var sim = new ConstantRate(Rate: 8, burstiness);
        var rng = new Random(7);
        var gaps = Enumerable.Range(0, 40_000).Select(_ => sim.NextGap(rng)).ToArray();
        double mean = gaps.Average(), variance = gaps.Select(g => (g - mean) * (g - mean)).Average();
        Assert.InRange(mean, 0.125 * 0.97, 0.125 * 1.03);
        Assert.InRange(variance / (mean * mean), cv2 * 0.9, cv2 * 1.1);
    }

    [Fact]
    public void Ramp_arrivals_follow_the_rate_profile_and_stop_at_its_end()
    {
        var ramp = new RampRate(Peak: 50, Up: 10, Hold: 20, Down: 10);
        var rng = new Random(3);
        var arrivals = new List<double>();
        for (double? t = 0; (t = ramp.NextArrival(rng, t.Value)) is { } a;) arrivals.Add(a);
        // Expected count: the area under the profile, 50 * (5 + 20 + 5) = 1500.
        Assert.InRange(arrivals.Count, 1380, 1620);
        Assert.True(arrivals.All(a => a < 40));
        Assert.InRange(arrivals.Count(a => a < 10), 180, 320);     // 250 expected while ramping up
        Assert.InRange(arrivals.Count(a => a is >= 10 and < 30), 900, 1100);
        Assert.Equal(25, ramp.RateAt(5), 9);
        Assert.Equal(0, ramp.RateAt(40));
    }

    [Fact]
    public void Datasets_are_deterministic_per_seed_and_index()
    {
        var a = new RandomDataset(100, 20, 0.5, 500, seed: 9);
        var b = new RandomDataset(100, 20, 0.5, 500, seed: 9);
        Assert.Equal(a.Get(17).TokenIds, b.Get(17).TokenIds);
        Assert.NotEqual(a.Get(17).TokenIds, new RandomDataset(100, 20, 0.5, 500, seed: 10).Get(17).TokenIds);
        var lengths = Enumerable.Range(0, 500).Select(i => a.Get(i)).ToArray();
        Assert.All(lengths, p => Assert.InRange(p.TokenIds!.Length, 50, 150));
        Assert.All(lengths, p => Assert.InRange(p.MaxTokens, 10, 30));
        Assert.All(lengths, p => Assert.All(p.TokenIds!, id => Assert.InRange(id, 3, 499)));
    }

    [Fact]
    public void Prefix_sharing_requests_reuse_a_few_long_prefixes()
    {
        var d = new PrefixSharingDataset(prefixes: 3, prefixLen: 64, suffixLen: 8, outputLen: 4, vocab: 500, seed: 1);
        var prompts = Enumerable.Range(0, 9).Select(i => d.Get(i).TokenIds!).ToArray();
        Assert.All(prompts, p => Assert.Equal(72, p.Length));
        Assert.Equal(prompts[0][..64], prompts[3][..64]);
        Assert.Equal(prompts[1][..64], prompts[7][..64]);
        Assert.NotEqual(prompts[0][..64], prompts[1][..64]);
        Assert.NotEqual(prompts[0][64..], prompts[3][64..]);
    }

    [Fact]
    public void Jsonl_holds_prompts_and_chat_conversations()
    {
        var path = Path.Combine(Path.GetTempPath(), $"loadtests-{Environment.ProcessId}.jsonl");
        File.WriteAllLines(path,
        [
            """{"prompt": "Once upon a time", "max_tokens": 12}""",
            "",
            """{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}""",
        ]);
        try
        {
            var d = new JsonlDataset(path, defaultMaxTokens: 5, seed: 1);
            Assert.Equal(2, d.Count);
            var all = new[] { d.Get(0), d.Get(1) };
            var chat = Assert.Single(all, p => p.Messages is not null);
            Assert.Equal(["system", "user"], chat.ChatMessages.Select(m => m.Role));
            Assert.Equal(5, chat.MaxTokens);
            Assert.Equal(12, Assert.Single(all, p => p.Messages is null).MaxTokens);
            File.WriteAllText(path, "{\"nothing\": 1}\n");
            Assert.Throws<FormatException>(() => new JsonlDataset(path, 5, 1));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--monitor", "1s")]
    [InlineData("--burst", "100,1s,1s")]
    public async Task Soak_and_burst_refuse_non_loopback_targets_before_sending_anything(string option, string value)
    {
        var e = await Assert.ThrowsAsync<FormatException>(() =>
            LoadTestRunner.RunAsync(["--url", "http://192.0.2.1:8000", option, value, "--requests", "1"], TextWriter.Null, TestContext.Current.CancellationToken));
        Assert.Contains("loopback", e.Message);
    }

    [Fact]
    public void Sse_chunks_give_tokens_usage_and_errors()
    {
        var r = new RequestRecord { Scenario = "s", Start = 0 };
        OpenAiClient.OnChunk(JsonNode.Parse("""{"choices":[{"index":0,"text":"Hello"}]}"""), r, 0.1);
        OpenAiClient.OnChunk(JsonNode.Parse("""{"choices":[{"index":0,"delta":{"content":" world"}}]}"""), r, 0.2);
        OpenAiClient.OnChunk(JsonNode.Parse("""{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"""), r, 0.25);
        OpenAiClient.OnChunk(JsonNode.Parse("""{"choices":[{"index":0,"text":"","finish_reason":"length"}]}"""), r, 0.3);
        OpenAiClient.OnChunk(JsonNode.Parse("""{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"""), r, 0.3);
        Assert.Equal([0.1, 0.2, 0.3], r.Chunks.Select(c => c.Time)); // the finish chunk counts, the role-only one does not
        Assert.Equal(7, r.InputTokens);
        Assert.Equal(3, r.OutputTokens);
        Assert.Null(r.Error);

        OpenAiClient.OnChunk(JsonNode.Parse("""{"error":{"message":"engine failed","type":"server_error"}}"""), r, 0.4);
        Assert.Equal("stream_error", r.Error);
    }
}
