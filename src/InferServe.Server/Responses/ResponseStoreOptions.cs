namespace InferServe.Server.Responses;

/// <summary>
/// The stored-responses store (options pattern: "InferServe:ResponseStore", e.g. INFERSERVE__ResponseStore__MaxEntries;
/// flags --response-store-size, --response-store-ttl and --response-store-memory). Responses live in memory only: a restart forgets them.
/// </summary>
public sealed class ResponseStoreOptions
{
    /// <summary>Most responses kept; the oldest goes first. 0 keeps none (store: true then stores nothing).</summary>
    public int MaxEntries { get; set; } = 1000;
    /// <summary>Seconds a stored response stays retrievable and usable as previous_response_id.</summary>
    public int TtlSeconds { get; set; } = 3600;
    /// <summary>Memory for the stored objects and conversations together (a size: 268435456, 256MiB); the oldest go first.</summary>
    public string MaxMemory { get; set; } = "256MiB";

    /// <summary><see cref="MaxMemory"/> in bytes.</summary>
    public long MaxMemoryBytes => InferServe.Contracts.ByteSize.Parse(MaxMemory);
}
