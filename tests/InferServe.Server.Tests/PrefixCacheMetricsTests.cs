using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>The engine reports its prefix-cache lookups to the server's observer, so the Prometheus counters move.</summary>
public sealed class PrefixCacheMetricsTests
{
    private static async Task<double> CounterAsync(TestServer gw, string name)
    {
        var text = await gw.Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        var m = Regex.Match(text, @"^inferserve[:_]" + name + @"_total(?:\{[^}]*\})? (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"{name} is not on /metrics:\n{text}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_repeated_prompt_counts_queried_and_hit_tokens_on_the_metrics_endpoint()
    {
        await using var gw = await TestServer.StartAsync();
        Assert.Equal(0, await CounterAsync(gw, "prefix_cache_queries"));
        Assert.Equal(0, await CounterAsync(gw, "prefix_cache_hits"));

        // 40 prompt tokens: two full blocks of 16 that the second request finds cached.
        int[] prompt = [.. Enumerable.Range(1, 40)];
        for (int i = 0; i < 2; i++)
        {
            var (response, _) = await gw.PostAsync("/v1/completions", new { prompt, max_tokens = 2, temperature = 0 });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(80, await CounterAsync(gw, "prefix_cache_queries"));
        Assert.Equal(32, await CounterAsync(gw, "prefix_cache_hits"));
    }
}
