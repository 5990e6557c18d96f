using System.Text.Json.Nodes;
using InferServe.Metrics;

namespace InferServe.Server.Responses;

/// <summary>A finished response: its object as answered (GET) and the conversation it ends, as chat messages (follow-ups).</summary>
internal sealed record StoredResponse(string Id, byte[] Json, string Conversation, DateTimeOffset Expires)
{
    public JsonArray Messages() => (JsonArray)JsonNode.Parse(Conversation)!;
}

/// <summary>
/// The bounded in-memory store behind store: true, GET/DELETE /v1/responses/{id} and previous_response_id: at most
/// <see cref="ResponseStoreOptions.MaxEntries"/> responses, each for <see cref="ResponseStoreOptions.TtlSeconds"/>;
/// the oldest is evicted first. Exposes its size and evictions as metrics.
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

    public ResponseStore(ResponseStoreOptions options, TimeProvider clock, MetricRegistry? registry = null)
    {
        _options = options;
        _clock = clock;
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
        if (_options.MaxEntries <= 0) return;
        var entry = new StoredResponse(id, json, conversation, _clock.GetUtcNow().AddSeconds(Math.Max(1, _options.TtlSeconds)));
        lock (_gate)
        {
            ExpireLocked();
            if (_byId.Remove(id, out var old)) _order.Remove(old);
            _byId[id] = _order.AddLast(entry);
            while (_byId.Count > _options.MaxEntries) EvictFirstLocked();
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
            _order.Remove(node);
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
        _order.RemoveFirst();
        _byId.Remove(first.Value.Id);
        _evictions?.Inc();
    }
}
