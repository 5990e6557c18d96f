using System.Text.Json.Nodes;
using InferServe.Disaggregation.Tests.Support;
using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>
/// Workers may run different --kv-dtype: the prefill worker sends its blocks as it stores them and the decode worker
/// re-encodes them once on arrival. Greedy text then equals the one-process server running the decode worker's dtype
/// (logprobs differ only by the prefill's own rounding).
/// </summary>
public sealed class MixedKvDtypeTests(ITestOutputHelper log)
{
    [Theory(Timeout = 600_000)]
    [InlineData("fp32", "fp16")]
    [InlineData("fp16", "fp32")]
    [InlineData("fp32", "int8")]
    [InlineData("int8", "fp32")]
    public async Task A_prompt_prefilled_in_one_kv_dtype_decodes_in_another_to_the_same_greedy_text(string prefillKvDtype, string decodeKvDtype)
    {
        var ct = TestContext.Current.CancellationToken;
        var model = Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin");
        await using var t = await Topology.StartAsync(new TopologyOptions
        {
            Model = model, KvDtype = decodeKvDtype, PrefillKvDtype = prefillKvDtype, WithAll = true, ChatTemplate = ParityTests.StoryTemplate,
        }, ct);

        foreach (var prompt in Prompts)
        {
            var body = new JsonObject { ["model"] = Topology.ServedName, ["prompt"] = prompt, ["max_tokens"] = 24, ["temperature"] = 0, ["logprobs"] = 1 };
            var expected = JsonNode.Parse(await OpenAiCalls.RunAsync(t.All!.HttpBase, "/v1/completions", body, ct))!["choices"]![0]!;
            var actual = JsonNode.Parse(await OpenAiCalls.RunAsync(t.Gateway.HttpBase, "/v1/completions", body, ct))!["choices"]![0]!;
            Assert.Equal(expected["text"]!.GetValue<string>(), actual["text"]!.GetValue<string>());
            var want = expected["logprobs"]!["token_logprobs"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
            var got = actual["logprobs"]!["token_logprobs"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
            double worst = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
            log.WriteLine($"{prefillKvDtype} -> {decodeKvDtype}, {prompt.Length} chars: same text, largest logprob difference {worst:G3}");
            Assert.True(worst < 0.1, $"logprobs moved by {worst} between the one-process server and the mixed-dtype split");
        }

        // The KV crossed (nothing was recomputed on the decode side) and every lease was picked up.
        double sent = await t.Prefill[0].MetricAsync("inferserve_kv_transfer_bytes_total", "sent", ct);
        Assert.True(sent > 0, "no KV crossed from the prefill worker to the decode worker");
        Assert.Equal(sent, await t.Decode[0].MetricAsync("inferserve_kv_transfer_bytes_total", "received", ct));
        Assert.Equal(0, await t.Decode[0].MetricAsync("inferserve_kv_import_fallbacks", ct: ct));
        Assert.Equal(0, await t.Prefill[0].MetricAsync("inferserve_kv_leases_held", ct: ct));
    }

    /// <summary>Prompts of one to several KV blocks (16 tokens each), so whole and partial blocks are converted.</summary>
    private static readonly string[] Prompts =
    [
        "Once upon a time",
        "Lily and Ben went to the park. They saw a big tree with red apples.",
        "Once upon a time there was a little dog named Max. Max liked to run in the park with his friend Sam. One day Sam found a big red ball under a tree and they played all day until the sun went down.",
    ];
}
