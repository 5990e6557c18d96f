namespace InferServe.Router;

/// <summary>Settings of a gateway that routes to prefill and decode workers.</summary>
public sealed class RouterOptions
{
    /// <summary>Prefill workers' gRPC addresses (http://host:port).</summary>
    public List<string> PrefillWorkers { get; set; } = [];
    /// <summary>Decode workers' gRPC addresses.</summary>
    public List<string> DecodeWorkers { get; set; } = [];
    /// <summary>cache-aware (default), least-load or round-robin.</summary>
    public string Policy { get; set; } = "cache-aware";
    /// <summary>Prompts shorter than this are prefilled on the decode worker (no transfer); 0 sends every prompt to a prefill worker.</summary>
    public int RemotePrefillMinTokens { get; set; } = 32;
    /// <summary>How often workers report load and block events.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Requests in flight through this gateway beyond which new ones get 429.</summary>
    public int MaxInFlight { get; set; } = 1024;
    /// <summary>Cache-aware routing follows the longest cached prefix unless that worker has this many more requests than the least loaded one.</summary>
    public int BalanceThreshold { get; set; } = 4;
}
