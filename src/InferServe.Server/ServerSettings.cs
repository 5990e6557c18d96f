using InferServe.Server.Security;
using Microsoft.Extensions.Configuration;

namespace InferServe.Server;

/// <summary>
/// Gateway settings (options pattern). Bound flat from the "InferServe" configuration section
/// (appsettings.json, INFERSERVE__* environment variables); the engine's settings come from the same section but
/// belong to the composition root (the CLI), so this assembly needs no engine. Command-line flags are applied on top
/// by `inferserve serve`.
/// </summary>
public class ServerSettings
{
    public const string SectionName = "InferServe";

    /// <summary>The name clients send as "model"; default: the model directory or file name.</summary>
    public string? ServedModelName { get; set; }
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>HTTP port; 0 picks a free port (tests).</summary>
    public int Port { get; set; } = 8000;
    /// <summary>Accepted bearer keys, each <c>KEY</c> or <c>KEY:N</c> (at most N requests in flight); empty means no authentication.</summary>
    public List<string> ApiKeys { get; set; } = [];
    /// <summary>A file with one <c>KEY[:N]</c> per line (blank lines and lines starting with # are ignored).</summary>
    public string? ApiKeyFile { get; set; }
    /// <summary>PEM certificate (then its intermediates) for TLS on the HTTP port and the public gRPC port.</summary>
    public string? TlsCert { get; set; }
    /// <summary>PEM private key of <see cref="TlsCert"/>.</summary>
    public string? TlsKey { get; set; }
    /// <summary>Worker links (see <see cref="WorkerCredentials"/>): this process's PEM certificate for mutual TLS.</summary>
    public string? WorkerTlsCert { get; set; }
    public string? WorkerTlsKey { get; set; }
    /// <summary>PEM CA bundle that worker-link certificates must chain to.</summary>
    public string? WorkerCa { get; set; }
    /// <summary>Shared secret of the worker links (also INFERSERVE_WORKER_TOKEN).</summary>
    public string? WorkerToken { get; set; }
    /// <summary>A chat template file path or inline Jinja template, overriding the model's.</summary>
    public string? ChatTemplate { get; set; }
    /// <summary>Sandbox limits for rendering chat templates.</summary>
    public ChatTemplateLimits ChatTemplateLimits { get; set; } = new();
    /// <summary>How tool calls are parsed out of chat output: auto (recognised from the chat template), llama3, hermes, mistral or none.</summary>
    public string ToolCallParser { get; set; } = "auto";
    public static IReadOnlyList<string> ToolCallParserNames => Tools.ToolCallParsers.Names;
    /// <summary>Size and TTL of the /v1/responses store.</summary>
    public Responses.ResponseStoreOptions ResponseStore { get; set; } = new();
    /// <summary>Largest accepted request body, e.g. 4MiB or 65536 (413 beyond it).</summary>
    public string MaxBodySize { get; set; } = "4MiB";

    /// <summary><see cref="MaxBodySize"/> in bytes.</summary>
    public long MaxBodyBytes => InferServe.Contracts.ByteSize.Parse(MaxBodySize);
    /// <summary>Port of the h2c (HTTP/2 without TLS) endpoint for the gRPC API; 0 disables it.</summary>
    public int GrpcPort { get; set; } = 50051;
    /// <summary>"simple" (one line per entry, with scopes) or "json".</summary>
    public string LogFormat { get; set; } = "simple";
    /// <summary>Seconds in-flight requests get to finish on shutdown.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 10;

    /// <summary>all (one process), prefill or decode (workers), or gateway (routes to workers).</summary>
    public string Role { get; set; } = "all";
    /// <summary>A worker serves only /health, /ready and /metrics over HTTP, and the worker protocol on the gRPC port.</summary>
    public bool IsWorker => Role is "prefill" or "decode";

    /// <summary>Binds the gateway settings from the flat "InferServe" section.</summary>
    public static ServerSettings FromConfiguration(IConfiguration configuration) => Bind(new ServerSettings(), configuration);

    /// <summary>Binds <paramref name="settings"/> (or a subclass that adds its own, like the CLI's engine settings) from the "InferServe" section.</summary>
    public static T Bind<T>(T settings, IConfiguration configuration) where T : ServerSettings
    {
        configuration.GetSection(SectionName).Bind(settings);
        return settings;
    }

    /// <summary>Every configured API key: <see cref="ApiKeys"/>, the key file and INFERSERVE_API_KEY, each KEY[:N].</summary>
    public IReadOnlyList<ApiKeySpec> ResolveApiKeys()
    {
        var keys = new List<ApiKeySpec>();
        keys.AddRange(ApiKeys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => ApiKeySpec.Parse(k, "--api-key")));
        if (!string.IsNullOrEmpty(ApiKeyFile))
        {
            if (!File.Exists(ApiKeyFile)) throw new CredentialException($"--api-key-file '{ApiKeyFile}' does not exist.");
            var lines = File.ReadAllLines(ApiKeyFile);
            for (int i = 0; i < lines.Length; i++)
                if (lines[i].Trim() is { Length: > 0 } line && !line.StartsWith('#')) keys.Add(ApiKeySpec.Parse(line, $"{ApiKeyFile} line {i + 1}"));
        }
        if (Environment.GetEnvironmentVariable("INFERSERVE_API_KEY") is { Length: > 0 } env) keys.Add(ApiKeySpec.Parse(env, "INFERSERVE_API_KEY"));
        var distinct = new Dictionary<string, ApiKeySpec>(StringComparer.Ordinal);
        foreach (var k in keys)
        {
            if (distinct.TryGetValue(k.Key, out var seen) && seen.MaxConcurrent != k.MaxConcurrent)
                throw new CredentialException($"API key '{ApiKeySpec.Masked(k.Key)}' is given twice with different limits.");
            distinct[k.Key] = k;
        }
        return [.. distinct.Values];
    }

    /// <summary>The worker-link token: <see cref="WorkerToken"/> (flag or configuration), else INFERSERVE_WORKER_TOKEN.</summary>
    public string? ResolveWorkerToken() =>
        (WorkerToken is { Length: > 0 } ? WorkerToken : Environment.GetEnvironmentVariable("INFERSERVE_WORKER_TOKEN"))?.Trim() is { Length: > 0 } t ? t : null;

    /// <summary>Default served name: the model directory name, or the checkpoint file name without extension.</summary>
    public static string DefaultServedName(string? modelPath)
    {
        if (string.IsNullOrEmpty(modelPath)) return "default";
        var trimmed = modelPath.TrimEnd('/', '\\');
        return Directory.Exists(trimmed) ? Path.GetFileName(trimmed) : Path.GetFileNameWithoutExtension(trimmed);
    }
}
