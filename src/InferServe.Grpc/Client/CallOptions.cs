namespace InferServe.Grpc;

/// <summary>Per-call settings: deadline (sent as grpc-timeout and enforced locally), metadata, cancellation.</summary>
public readonly record struct CallOptions
{
    /// <summary>Absolute deadline; passing it ends the call with DEADLINE_EXCEEDED.</summary>
    public DateTime? Deadline { get; init; }

    /// <summary>Custom request metadata (lower-case ASCII keys; values must be ASCII, or base64 for "-bin" keys).</summary>
    public IEnumerable<KeyValuePair<string, string>>? Headers { get; init; }

    /// <summary>Cancelling ends the call with CANCELLED and resets the HTTP/2 stream.</summary>
    public CancellationToken CancellationToken { get; init; }

    public static CallOptions FromTimeout(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        new() { Deadline = DateTime.UtcNow + timeout, CancellationToken = cancellationToken };
}
