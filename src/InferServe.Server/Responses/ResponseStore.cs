using System.Text.Json.Nodes;
using InferServe.Metrics;

namespace InferServe.Server.Responses;

/// <summary>A finished response: its object as answered (GET) and the conversation it ends, as chat messages (follow-ups).</summary>
internal sealed record StoredResponse(string Id, byte[] Json, string Conversation, DateTimeOffset Expires)
{
    public JsonArray Messages() => (JsonArray)JsonNode.Parse(Conversation)!;

    /// <summary>What the entry holds in memory, roughly (UTF-16 conversation, UTF-8 object).</summary>
    public long Bytes => Json.Length + 2L * Conversation.Length;
}

/// <summary>
/// The bounded in-memory store behind store: true, GET/DELETE /v1/responses/{id} and previous_response_id: at most
/// <see cref="ResponseStoreOptions.MaxEntries"/> responses in <see cref="ResponseStoreOptions.MaxMemory"/>, each for
/// <see cref="ResponseStoreOptions.TtlSeconds"/>; the oldest is evicted first. Exposes its size and evictions as metrics.
/// </summary>
internal sealed class ResponseStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<StoredResponse>> _byId = new(StringComparer.Ordinal);
    // Oldest first: both capacity and TTL evict from the front.
    private readonly LinkedList<StoredResponse> _order = new();
    private readonly ResponseStoreOptions _options;
    private readonly TimeProvider _clock;
    private readonly Counter? _evictions;
    private readonly long _maxBytes;
    private long _bytes;

    public ResponseStore(ResponseStoreOptions options, TimeProvider clock, MetricRegistry? registry = null)
    {
        _options = options;
        _clock = clock;
        _maxBytes = options.MaxMemoryBytes;
        if (registry is null) return;
        registry.CreateCallbackGauge("inferserve_response_store_entries", "Responses held by the /v1/responses store.", () => Count);
        _evictions = registry.CreateCounter("inferserve_response_store_evictions", "Stored responses dropped for the store's size or TTL.");
    }

    public int Count
    {
        get { lock (_gate) return _byId.Count; }
    }

    public void Add(string id, byte[] json, string conversation)
    {
        var entry = new StoredResponse(id, json, conversation, _clock.GetUtcNow().AddSeconds(Math.Max(1, _options.TtlSeconds)));
        if (_options.MaxEntries <= 0 || entry.Bytes > _maxBytes) return; // one that could never fit is not kept
        lock (_gate)
        {
            ExpireLocked();
            if (_byId.Remove(id, out var old)) RemoveLocked(old);
            _byId[id] = _order.AddLast(entry);
            _bytes += entry.Bytes;
            while (_byId.Count > _options.MaxEntries || _bytes > _maxBytes) EvictFirstLocked();
        }
    }

    public StoredResponse? Get(string id)
    {
        lock (_gate)
        {
            ExpireLocked();
            return _byId.TryGetValue(id, out var node) ? node.Value : null;
        }
    }

    public bool Remove(string id)
    {
        lock (_gate)
        {
            ExpireLocked();
            if (!_byId.Remove(id, out var node)) return false;
            RemoveLocked(node);
            return true;
        }
    }

    private void ExpireLocked()
    {
        var now = _clock.GetUtcNow();
        while (_order.First is { } first && first.Value.Expires <= now) EvictFirstLocked();
    }

    private void EvictFirstLocked()
    {
        var first = _order.First!;
        _byId.Remove(first.Value.Id);
        RemoveLocked(first);
        _evictions?.Inc();
    }

    private void RemoveLocked(LinkedListNode<StoredResponse> node)
    {
        _order.Remove(node);
        _bytes -= node.Value.Bytes;
    }
}
