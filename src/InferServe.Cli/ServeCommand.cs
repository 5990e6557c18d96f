using InferServe.Engine.Hosting;
using InferServe.Server;
using Microsoft.Extensions.Configuration;

namespace InferServe.Cli;

/// <summary>
/// `inferserve serve`: the OpenAI-compatible HTTP gateway (and the gRPC h2c endpoint) over one engine.
/// Settings come from appsettings.json ("InferServe" section), INFERSERVE__* environment variables and
/// command-line flags, in increasing precedence.
/// </summary>
public static class ServeCommand
{
    public const string Help = """
        inferserve serve [options]

        Model (default: the embedded stories260K in models/, a tiny TinyStories model that writes English stories):
          --model PATH|ID            Hugging Face directory, .gguf file, llama2.c .bin, or hub id org/name[@revision][:file]
                                     (downloaded into the Hugging Face cache; an existing local path wins)
          --shape NAME               generated random-weight model (tiny, smollm2-135m, ...): real shapes, random weights, no language
          --tokenizer PATH           tokenizer when it is not beside the model
          --device, --threads, --weights, --kv-dtype, --kv-cache-memory, --block-size,
          --max-seqs, --max-batched-tokens, --max-queue, --no-prefix-caching, --cache-dir
        Role (one binary, four roles; see README "Deployments"):
          --role all|prefill|decode|gateway   default all: everything in this process
          --prefill URL[,URL...]     gateway: prefill workers' gRPC addresses (http://host:grpc-port)
          --decode URL[,URL...]      gateway: decode workers' gRPC addresses
          --routing POLICY           gateway: cache-aware (default), least-load or round-robin (prefill placement)
          --remote-prefill-min-tokens N   gateway: shorter prompts prefill on the decode worker (default 32; 0 = always remote)
          --kv-lease-seconds S       prefill worker: how long prompt KV waits for pickup (default 30)
          --gateway URL              worker: register with this gateway (its gRPC address) and heartbeat
          --advertise-address URL    worker: the gRPC address the gateway should use (default http://HOST:GRPC-PORT)
        Gateway:
          --served-model-name NAME   name clients send as "model" (default: model directory / file name)
          --host ADDR                listen address (default 127.0.0.1)
          --port N                   HTTP port (default 8000)
          --grpc-port N              h2c port for the gRPC API (default 50051; 0 disables); on a worker, the worker protocol
          --api-key KEY[:N]          accepted bearer key, at most N requests in flight when :N is given (repeatable;
                                     also --api-key-file, INFERSERVE_API_KEY); over the limit: 429 / RESOURCE_EXHAUSTED
          --api-key-file PATH        one KEY[:N] per line
          --tls-cert PEM, --tls-key PEM   TLS on the HTTP port and the public gRPC port (h2 by ALPN)
        Worker links (workers and gateway; README "Hardened deployment"):
          --worker-tls-cert PEM, --worker-tls-key PEM, --worker-ca PEM
                                     mutual TLS: this process's certificate and the CA every worker-link peer must chain to;
                                     worker addresses are then https://
          --worker-token TOKEN       shared secret (16+ characters) every worker-link call carries; prefer INFERSERVE_WORKER_TOKEN
          --chat-template FILE|TEXT  chat template overriding the model's
          --tool-call-parser NAME    auto (default: recognised from the chat template), llama3, hermes, mistral or none
          --max-body-size SIZE       largest request body (default 4MiB)
          --response-store-size N    stored /v1/responses kept for GET and previous_response_id (default 1000; 0: none)
          --response-store-ttl S     seconds a stored response is kept (default 3600)
          --response-store-memory SIZE  memory for stored responses (default 256MiB)
          --log-format simple|json
        """;

    public static async Task<int> RunAsync(CommandLine cmd, string[]? configArgs = null)
    {
        if (cmd.Flag("help"))
        {
            Console.WriteLine(Help);
            return 0;
        }
        var configuration = new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        var settings = ServerSettings.FromConfiguration(configuration);
        var router = new InferServe.Router.RouterOptions();
        configuration.GetSection(ServerSettings.SectionName).Bind(router);
        Apply(cmd, settings);
        var registration = ApplyRole(cmd, settings, router);
        cmd.RejectUnknown();
        ResolveModel(settings);

        return await ServeRoles.RunAsync(settings, router, registration);
    }

    /// <summary>The embedded default or a hub model, once the arguments are valid; a hub model is served as org/name.</summary>
    public static void ResolveModel(ServerSettings s)
    {
        var requested = s.Engine.Model;
        s.Engine.Model = ModelSource.Finish(requested);
        s.ServedModelName ??= HubModels.ServedName(requested);
        s.ChatTemplate ??= ModelSource.ChatTemplateBeside(s.Engine.Model);
    }

    private static readonly string[] Roles = ["all", "prefill", "decode", "gateway"];

    /// <summary>The role and its flags; a flag that does not fit the role is an error, not silently ignored.</summary>
    /// <returns>Where a worker started with --gateway registers itself, or null.</returns>
    public static InferServe.Workers.WorkerRegistrationOptions? ApplyRole(CommandLine cmd, ServerSettings s, InferServe.Router.RouterOptions router)
    {
        s.Role = (cmd.Get("role") ?? s.Role).ToLowerInvariant();
        if (!Roles.Contains(s.Role)) throw new UsageException($"Unknown --role '{s.Role}'; use all, prefill, decode or gateway.");
        static List<string> Urls(string? list) => list is null ? [] : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        if (cmd.Get("prefill") is { } p) router.PrefillWorkers = Urls(p);
        if (cmd.Get("decode") is { } d) router.DecodeWorkers = Urls(d);
        router.Policy = cmd.Get("routing") ?? router.Policy;
        router.RemotePrefillMinTokens = cmd.GetInt("remote-prefill-min-tokens", router.RemotePrefillMinTokens, 0);
        s.Engine.KvLeaseSeconds = cmd.GetFloat("kv-lease-seconds", (float)s.Engine.KvLeaseSeconds, 0.001f);
        var gateway = cmd.Get("gateway");
        var advertise = cmd.Get("advertise-address");
        // With mutual TLS the workers' gRPC ports (and the gateway's) speak TLS only.
        bool tls = s.WorkerTlsCert is not null;
        string scheme = tls ? "https" : "http";
        if (s.Role == "gateway")
        {
            try { _ = InferServe.Router.Routing.RoutingPolicies.Create(router.Policy, 0); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (tls && router.PrefillWorkers.Concat(router.DecodeWorkers).FirstOrDefault(u => !u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) is { } plain)
                throw new UsageException($"Worker address '{plain}' must be https:// when the worker links use mutual TLS (--worker-tls-cert).");
        }
        else if (router.PrefillWorkers.Count > 0 || router.DecodeWorkers.Count > 0)
            throw new UsageException("--prefill and --decode are for --role gateway.");
        if (gateway is null)
        {
            if (advertise is not null) throw new UsageException("--advertise-address goes with --gateway.");
            return null;
        }
        if (!s.IsWorker) throw new UsageException("--gateway is for workers (--role prefill or decode): it registers them with that gateway.");
        if (!Uri.TryCreate(gateway, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UsageException($"--gateway '{gateway}' is not an address; use {scheme}://host:grpc-port (the gateway's --grpc-port).");
        if (tls && uri.Scheme != "https") throw new UsageException($"--gateway '{gateway}' must be https:// when the worker links use mutual TLS (--worker-tls-cert).");
        if (tls && advertise is not null && !advertise.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--advertise-address '{advertise}' must be https:// when the worker links use mutual TLS (--worker-tls-cert).");
        if (s.GrpcPort == 0) throw new UsageException("A worker needs --grpc-port (the gateway reaches it there).");
        var host = s.Host is "0.0.0.0" or "*" or "+" or "::" or "" ? System.Net.Dns.GetHostName() : s.Host;
        return new InferServe.Workers.WorkerRegistrationOptions(gateway.TrimEnd('/'), (advertise ?? $"{scheme}://{host}:{s.GrpcPort}").TrimEnd('/'));
    }

    /// <summary>Command-line flags over the configured settings (CLI wins).</summary>
    public static void Apply(CommandLine cmd, ServerSettings s)
    {
        s.Engine = EngineOptionsFromCli.Read(cmd, s.Engine);
        s.ServedModelName = cmd.Get("served-model-name") ?? s.ServedModelName;
        s.Host = cmd.Get("host") ?? s.Host;
        s.Port = cmd.GetInt("port", s.Port, 0, 65535);
        s.GrpcPort = cmd.GetInt("grpc-port", s.GrpcPort, 0, 65535);
        s.ApiKeys.AddRange(cmd.GetAll("api-key"));
        s.ApiKeyFile = cmd.Get("api-key-file") ?? s.ApiKeyFile;
        s.TlsCert = cmd.Get("tls-cert") ?? s.TlsCert;
        s.TlsKey = cmd.Get("tls-key") ?? s.TlsKey;
        s.WorkerTlsCert = cmd.Get("worker-tls-cert") ?? s.WorkerTlsCert;
        s.WorkerTlsKey = cmd.Get("worker-tls-key") ?? s.WorkerTlsKey;
        s.WorkerCa = cmd.Get("worker-ca") ?? s.WorkerCa;
        s.WorkerToken = cmd.Get("worker-token") ?? s.WorkerToken;
        s.ChatTemplate = cmd.Get("chat-template") ?? s.ChatTemplate;
        s.ToolCallParser = cmd.Get("tool-call-parser") ?? s.ToolCallParser;
        if (!ServerSettings.ToolCallParserNames.Contains(s.ToolCallParser.ToLowerInvariant()))
            throw new UsageException($"Unknown --tool-call-parser '{s.ToolCallParser}'; use {string.Join(", ", ServerSettings.ToolCallParserNames)}.");
        s.MaxBodySize = cmd.Get("max-body-size") ?? s.MaxBodySize;
        s.ResponseStore.MaxEntries = cmd.GetInt("response-store-size", s.ResponseStore.MaxEntries, 0, 10_000_000);
        s.ResponseStore.TtlSeconds = cmd.GetInt("response-store-ttl", s.ResponseStore.TtlSeconds, 1, int.MaxValue);
        s.ResponseStore.MaxMemory = cmd.Get("response-store-memory") ?? s.ResponseStore.MaxMemory;
        _ = s.ResponseStore.MaxMemoryBytes; // validate early
        _ = s.MaxBodyBytes; // validate early
        s.LogFormat = cmd.Get("log-format") ?? s.LogFormat;
        if (s.GrpcPort != 0 && s.GrpcPort == s.Port) throw new UsageException("--grpc-port must differ from --port (or be 0 to disable gRPC).");
    }
}
