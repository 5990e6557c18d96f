namespace InferServe.LoadTests.Metrics;

/// <summary>Per-request serving metrics, defined as vLLM's `bench serve` does.</summary>
public static class RequestMetrics
{
    /// <summary>Time to first token: request start to the first chunk that carried a token.</summary>
    public static double? Ttft(RequestRecord r) => r.Chunks.Count == 0 ? null : r.Chunks[0].Time - r.Start;

    /// <summary>End to end: request start to the end of the response.</summary>
    public static double? E2e(RequestRecord r) => r.End is { } end ? end - r.Start : null;

    /// <summary>
    /// Time per output token after the first: (E2E - TTFT) / (tokens - 1). Undefined for one-token outputs.
    /// Uses the usage count when the server reported one, else the streamed count.
    /// </summary>
    public static double? Tpot(RequestRecord r)
    {
        int tokens = OutputTokens(r);
        if (r.End is not { } end || r.Chunks.Count == 0 || tokens < 2) return null;
        return (end - r.Chunks[0].Time) / (tokens - 1);
    }

    /// <summary>
    /// Inter-token latencies: the gap before each chunk after the first. A chunk of k tokens contributes k gaps of
    /// gap/k, so batched delivery is not mistaken for a long stall followed by free tokens.
    /// </summary>
    public static IEnumerable<double> Itl(RequestRecord r)
    {
        for (int i = 1; i < r.Chunks.Count; i++)
        {
            double gap = r.Chunks[i].Time - r.Chunks[i - 1].Time;
            int k = Math.Max(1, r.Chunks[i].Tokens);
            for (int j = 0; j < k; j++) yield return gap / k;
        }
    }

    public static int StreamedTokens(RequestRecord r) => r.Chunks.Sum(c => c.Tokens);

    public static int OutputTokens(RequestRecord r) => r.OutputTokens > 0 ? r.OutputTokens : StreamedTokens(r);
}
