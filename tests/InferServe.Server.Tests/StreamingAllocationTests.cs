using System.Net;
using System.Text;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>Alone: the measurement counts every allocation in the process, so no other test may run beside it.</summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement;

/// <summary>
/// A steady streaming request allocates under 512 bytes per token beyond the bytes it sends, through the real HTTP
/// pipeline (Kestrel on loopback, the engine, the SSE writer, an HttpClient reading the stream) in this process.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class StreamingAllocationTests(ITestOutputHelper log)
{
    private const int BudgetPerToken = 512;

    /// <summary>Streams one request to the end into a reused buffer; returns the bytes received and checks it ended with [DONE].</summary>
    private static async Task<long> StreamAsync(TestServer gw, string body, byte[] buffer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await gw.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        long total = 0;
        int tail = 0;
        while (true)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(tail), TestContext.Current.CancellationToken);
            if (n == 0) break;
            total += n;
            // Keep the last bytes at the front so the end of the stream is still there to check.
            int end = tail + n, keep = Math.Min(end, 64);
            Buffer.BlockCopy(buffer, end - keep, buffer, 0, keep);
            tail = keep;
        }
        Assert.EndsWith("data: [DONE]\n\n", Encoding.UTF8.GetString(buffer, 0, tail));
        return total;
    }

    private static string Body(int tokens, bool logprobs) =>
        $$"""{"prompt":"Once upon a time","max_tokens":{{tokens}},"temperature":0,"ignore_eos":true,"stream":true{{(logprobs ? ",\"logprobs\":2" : "")}}}""";

    /// <summary>Bytes allocated by the whole process, minus the bytes sent, for one request of <paramref name="tokens"/> tokens.</summary>
    private static async Task<(long Allocated, long Sent)> MeasureAsync(TestServer gw, int tokens, bool logprobs, byte[] buffer)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long sent = await StreamAsync(gw, Body(tokens, logprobs), buffer);
        return (GC.GetTotalAllocatedBytes(precise: true) - before, sent);
    }

    [Theory(Timeout = 600_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_steady_streaming_request_allocates_under_512_bytes_per_token_beyond_what_it_sends(bool logprobs)
    {
        await using var gw = await TestServer.StartAsync(s => s.Engine.KvCacheMemory = "16MiB");
        var buffer = new byte[64 * 1024];
        // The per-token cost is the slope between a short and a long request: what a request costs once (parsing,
        // tokenizing, its handles and channels) cancels out.
        const int Short = 100, Long = 900;
        // Warm with the long request itself: JIT, pools, and the per-vocabulary-id token texts that logprobs cache on
        // first sight (a one-off per id, bounded by the vocabulary, which other tests may or may not have warmed).
        await StreamAsync(gw, Body(Long, logprobs), buffer);
        // The process's count includes the test's own HttpClient, whose reads (and their allocations) depend on how the
        // chunks happen to batch on the socket: noise that only adds. The least of five slopes is the steady cost.
        double perToken = double.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            var a = await MeasureAsync(gw, Short, logprobs, buffer);
            var b = await MeasureAsync(gw, Long, logprobs, buffer);
            double slope = (double)((b.Allocated - b.Sent) - (a.Allocated - a.Sent)) / (Long - Short);
            double sentPerToken = (double)(b.Sent - a.Sent) / (Long - Short);
            log.WriteLine($"logprobs={logprobs}, round {round}: {slope:F0} bytes allocated per token beyond the {sentPerToken:F0} bytes sent per token " +
                $"({Short} tokens: {a.Allocated} allocated, {a.Sent} sent; {Long} tokens: {b.Allocated} allocated, {b.Sent} sent)");
            perToken = Math.Min(perToken, slope);
        }
        Assert.True(perToken < BudgetPerToken, $"{perToken:F0} bytes per token allocated beyond what was sent (budget {BudgetPerToken})");
    }
}
