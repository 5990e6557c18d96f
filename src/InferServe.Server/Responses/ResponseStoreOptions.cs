namespace InferServe.Server.Responses;

/// <summary>
/// The stored-responses store (options pattern: "InferServe:ResponseStore", e.g. INFERSERVE__ResponseStore__MaxEntries;
/// flags --response-store-size and --response-store-ttl). Responses live in memory only: a restart forgets them.
/// </summary>
public sealed class ResponseStoreOptions
{
    /// <summary>Most responses kept; the oldest goes first. 0 keeps none (store: true then stores nothing).</summary>
    public int MaxEntries { get; set; } = 1000;
    /// <summary>Seconds a stored response stays retrievable and usable as previous_response_id.</summary>
    public int TtlSeconds { get; set; } = 3600;
}
