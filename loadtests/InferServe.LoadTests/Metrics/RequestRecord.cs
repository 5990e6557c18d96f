namespace InferServe.LoadTests.Metrics;

/// <summary>
/// What the client saw of one request, in seconds since the run started. Chunk times are arrivals of streamed
/// chunks that carried tokens; a chunk may carry several tokens (gRPC batches, speculative decoding).
/// </summary>
public sealed class RequestRecord
{
    public required string Scenario { get; init; }
    public double Start { get; init; }
    public List<(double Time, int Tokens)> Chunks { get; } = [];
    public double? End { get; set; }
    public int InputTokens { get; set; }
    public int OutputTokens { get; set; }
    /// <summary>Error type ("http_429", "grpc_unavailable", "timeout", ...); null when the request succeeded.</summary>
    public string? Error { get; set; }
    /// <summary>What the server or transport said about the error (first 300 characters), for the report.</summary>
    public string? ErrorDetail { get; set; }
    /// <summary>True during warm-up: kept out of every statistic.</summary>
    public bool Warmup { get; init; }

    /// <summary>Finished without error and with at least one token: the only requests throughput counts.</summary>
    public bool Completed => Error is null && End is not null && Chunks.Count > 0;
}
