using System.CommandLine;
using InferServe.Server;

namespace InferServe.Cli.Options;

/// <summary>
/// `serve`'s own options (the engine's are <see cref="EngineOptionSet"/>). No parse-time defaults: the value shown is the
/// built-in one, and an option not given keeps what appsettings.json or INFERSERVE__* set.
/// </summary>
public sealed class ServeOptions : List<Option>
{
    public static readonly string[] Roles = ["all", "prefill", "decode", "gateway"];

    public EngineOptionSet Engine { get; } = new();

    // Role (one binary, four roles; README "Deployments").
    public Option<string?> Role { get; } = Opt.Choice("--role", "all: everything in this process (default); prefill, decode: a worker; gateway: router + public APIs", Roles);
    public Option<string?> Prefill { get; } = Opt.Text("--prefill", "gateway: prefill workers' gRPC addresses (http://host:grpc-port)", helpName: "URL[,URL...]");
    public Option<string?> Decode { get; } = Opt.Text("--decode", "gateway: decode workers' gRPC addresses", helpName: "URL[,URL...]");
    public Option<string?> Routing { get; } = Opt.Text("--routing", "gateway: cache-aware (default), least-load or round-robin (prefill placement)", helpName: "POLICY");
    public Option<int?> RemotePrefillMinTokens { get; } = Opt.Int("--remote-prefill-min-tokens", "gateway: shorter prompts prefill on the decode worker (default 32; 0 = always remote)", 0);
    public Option<double?> KvLeaseSeconds { get; } = Opt.Float("--kv-lease-seconds", "prefill worker: how long prompt KV waits for pickup (default 30)", 0.001);
    public Option<string?> Gateway { get; } = Opt.Text("--gateway", "worker: register with this gateway (its gRPC address) and heartbeat", helpName: "URL");
    public Option<string?> AdvertiseAddress { get; } = Opt.Text("--advertise-address", "worker: the gRPC address the gateway should use (default http://HOST:GRPC-PORT)", helpName: "URL");

    // Gateway: the public HTTP and gRPC endpoints.
    public Option<string?> ServedModelName { get; } = Opt.Text("--served-model-name", "name clients send as \"model\" (default: model directory / file name)", helpName: "NAME");
    public Option<string?> Host { get; } = Opt.Text("--host", "listen address (default 127.0.0.1)", helpName: "ADDR");
    public Option<int?> Port { get; } = Opt.Int("--port", "HTTP port (default 8000)", 0, 65535);
    public Option<int?> GrpcPort { get; } = Opt.Int("--grpc-port", "h2c port for the gRPC API (default 50051; 0 disables); on a worker, the worker protocol", 0, 65535);
    public Option<string[]> ApiKey { get; } = Opt.Many("--api-key", "accepted bearer key, at most N requests in flight when :N is given (repeatable; also INFERSERVE_API_KEY); over the limit: 429 / RESOURCE_EXHAUSTED", "KEY[:N]");
    public Option<string?> ApiKeyFile { get; } = Opt.Text("--api-key-file", "one KEY[:N] per line", helpName: "PATH");
    public Option<string?> TlsCert { get; } = Opt.Text("--tls-cert", "TLS certificate for the HTTP port and the public gRPC port (h2 by ALPN); with --tls-key", helpName: "PEM");
    public Option<string?> TlsKey { get; } = Opt.Text("--tls-key", "private key of --tls-cert", helpName: "PEM");

    // Worker links (workers and gateway; README "Hardened deployment").
    public Option<string?> WorkerTlsCert { get; } = Opt.Text("--worker-tls-cert", "mutual TLS on worker links: this process's certificate (worker addresses are then https://)", helpName: "PEM");
    public Option<string?> WorkerTlsKey { get; } = Opt.Text("--worker-tls-key", "mutual TLS: the key of --worker-tls-cert", helpName: "PEM");
    public Option<string?> WorkerCa { get; } = Opt.Text("--worker-ca", "mutual TLS: the CA every worker-link peer must chain to", helpName: "PEM");
    public Option<string?> WorkerToken { get; } = Opt.Text("--worker-token", "shared secret (16+ characters) every worker-link call carries; prefer INFERSERVE_WORKER_TOKEN", helpName: "TOKEN");

    public Option<string?> ChatTemplate { get; } = Opt.Text("--chat-template", "chat template overriding the model's", helpName: "FILE|TEXT");
    public Option<string?> ToolCallParser { get; } = Opt.Choice("--tool-call-parser", "tool calls in the output: auto (default: recognised from the chat template), llama3, hermes, mistral or none",
        [.. ServerSettings.ToolCallParserNames]);
    public Option<string?> MaxBodySize { get; } = Opt.Text("--max-body-size", "largest request body (default 4MiB)", helpName: "SIZE");
    public Option<string?> LogFormat { get; } = Opt.Choice("--log-format", "simple (default) or json", ["simple", "json"]);

    // The Responses API's store (docs/http-api.md).
    public Option<int?> ResponseStoreSize { get; } = Opt.Int("--response-store-size", "stored /v1/responses kept for GET and previous_response_id (default 1000; 0: none)", 0, 10_000_000);
    public Option<int?> ResponseStoreTtl { get; } = Opt.Int("--response-store-ttl", "seconds a stored response is kept (default 3600)", 1);
    public Option<string?> ResponseStoreMemory { get; } = Opt.Text("--response-store-memory", "memory for stored responses (default 256MiB)", helpName: "SIZE");

    public ServeOptions()
    {
        AddRange(Engine);
        AddRange([Role, Prefill, Decode, Routing, RemotePrefillMinTokens, KvLeaseSeconds, Gateway, AdvertiseAddress, ServedModelName, Host, Port, GrpcPort,
            ApiKey, ApiKeyFile, TlsCert, TlsKey, WorkerTlsCert, WorkerTlsKey, WorkerCa, WorkerToken, ChatTemplate, ToolCallParser, MaxBodySize, LogFormat,
            ResponseStoreSize, ResponseStoreTtl, ResponseStoreMemory]);
    }
}
