namespace InferServe.Hub;

/// <summary>The hub client's environment, as huggingface_hub reads it: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE.</summary>
public sealed record HubSettings
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public string Endpoint { get; init; } = DefaultEndpoint;
    public string? Token { get; init; }
    public required string CacheDir { get; init; }
    public bool Offline { get; init; }

    public static HubSettings FromEnvironment(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => env(name) is { Length: > 0 } v ? v : null;
        var home = Get("HF_HOME") ?? Path.Combine(Get("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "huggingface");
        var token = Get("HF_TOKEN");
        var tokenFile = Get("HF_TOKEN_PATH") ?? Path.Combine(home, "token");
        if (token is null && File.Exists(tokenFile)) token = File.ReadAllText(tokenFile).Trim() is { Length: > 0 } t ? t : null;
        return new HubSettings
        {
            Endpoint = (Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'),
            Token = token,
            CacheDir = Get("HF_HUB_CACHE") ?? Path.Combine(home, "hub"),
            Offline = Get("HF_HUB_OFFLINE")?.ToLowerInvariant() is "1" or "true" or "yes" or "on",
        };
    }
}
