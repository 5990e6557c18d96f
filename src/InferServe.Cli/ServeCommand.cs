using System.CommandLine;
using InferServe.Cli.Options;
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
    public static Command Create()
    {
        var o = new ServeOptions();
        return Opt.Command("serve", "OpenAI-compatible HTTP server (/v1/completions, /v1/chat/completions, /metrics) and the gRPC API; " +
            "--role all|prefill|decode|gateway for disaggregated serving. Default model: the embedded stories260K in models/, a tiny TinyStories model that writes English stories. Settings: appsettings.json (\"InferServe\" section) < INFERSERVE__* environment < these options.", o, p => RunAsync(p, o));
    }

    private static async Task<int> RunAsync(ParseResult p, ServeOptions o)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        var settings = ServeSettings.FromConfiguration(configuration);
        var router = new InferServe.Router.RouterOptions();
        configuration.GetSection(ServerSettings.SectionName).Bind(router);
        Apply(p, o, settings);
        var registration = ApplyRole(p, o, settings, router);
        ResolveModel(settings);

        return await ServeRoles.RunAsync(settings, router, registration);
    }

    /// <summary>The embedded default or a hub model, once the arguments are valid; a hub model is served as org/name.</summary>
    public static void ResolveModel(ServeSettings s)
    {
        var requested = s.Engine.Model;
        s.Engine.Model = ModelSource.Finish(requested);
        s.ServedModelName ??= HubModels.ServedName(requested);
        s.ChatTemplate ??= ModelSource.ChatTemplateBeside(s.Engine.Model);
    }

    /// <summary>The role and its flags; a flag that does not fit the role is an error, not silently ignored.</summary>
    /// <returns>Where a worker started with --gateway registers itself, or null.</returns>
    private static InferServe.Workers.WorkerRegistrationOptions? ApplyRole(ParseResult p, ServeOptions o, ServeSettings s, InferServe.Router.RouterOptions router)
    {
        // Checked again here: the role may come from config, which the option's own check never sees.
        s.Role = (p.GetValue(o.Role) ?? s.Role).ToLowerInvariant();
        if (!ServeOptions.Roles.Contains(s.Role)) throw new UsageException(Opt.UnknownChoice("--role", s.Role, ServeOptions.Roles));
        static List<string> Urls(string? list) => list is null ? [] : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        if (p.GetValue(o.Prefill) is { } prefill) router.PrefillWorkers = Urls(prefill);
        if (p.GetValue(o.Decode) is { } d) router.DecodeWorkers = Urls(d);
        router.Policy = p.GetValue(o.Routing) ?? router.Policy;
        router.RemotePrefillMinTokens = p.GetValue(o.RemotePrefillMinTokens) ?? router.RemotePrefillMinTokens;
        s.Engine.KvLeaseSeconds = p.GetValue(o.KvLeaseSeconds) ?? s.Engine.KvLeaseSeconds;
        var gateway = p.GetValue(o.Gateway);
        var advertise = p.GetValue(o.AdvertiseAddress);
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
        {
            throw new UsageException("--prefill and --decode are for --role gateway.");
        }

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
    private static void Apply(ParseResult p, ServeOptions o, ServeSettings s)
    {
        s.Engine = o.Engine.Read(p, s.Engine);
        s.ServedModelName = p.GetValue(o.ServedModelName) ?? s.ServedModelName;
        s.Host = p.GetValue(o.Host) ?? s.Host;
        s.Port = p.GetValue(o.Port) ?? s.Port;
        s.GrpcPort = p.GetValue(o.GrpcPort) ?? s.GrpcPort;
        s.ApiKeys.AddRange(p.GetValue(o.ApiKey) ?? []);
        s.ApiKeyFile = p.GetValue(o.ApiKeyFile) ?? s.ApiKeyFile;
        s.TlsCert = p.GetValue(o.TlsCert) ?? s.TlsCert;
        s.TlsKey = p.GetValue(o.TlsKey) ?? s.TlsKey;
        s.WorkerTlsCert = p.GetValue(o.WorkerTlsCert) ?? s.WorkerTlsCert;
        s.WorkerTlsKey = p.GetValue(o.WorkerTlsKey) ?? s.WorkerTlsKey;
        s.WorkerCa = p.GetValue(o.WorkerCa) ?? s.WorkerCa;
        s.WorkerToken = p.GetValue(o.WorkerToken) ?? s.WorkerToken;
        s.ChatTemplate = p.GetValue(o.ChatTemplate) ?? s.ChatTemplate;
        s.ToolCallParser = p.GetValue(o.ToolCallParser) ?? s.ToolCallParser;
        if (!ServerSettings.ToolCallParserNames.Contains(s.ToolCallParser.ToLowerInvariant()))
            throw new UsageException(Opt.UnknownChoice("--tool-call-parser", s.ToolCallParser, ServerSettings.ToolCallParserNames));
        s.MaxBodySize = p.GetValue(o.MaxBodySize) ?? s.MaxBodySize;
        s.ResponseStore.MaxEntries = p.GetValue(o.ResponseStoreSize) ?? s.ResponseStore.MaxEntries;
        s.ResponseStore.TtlSeconds = p.GetValue(o.ResponseStoreTtl) ?? s.ResponseStore.TtlSeconds;
        s.ResponseStore.MaxMemory = p.GetValue(o.ResponseStoreMemory) ?? s.ResponseStore.MaxMemory;
        _ = s.ResponseStore.MaxMemoryBytes; // validate early
        _ = s.MaxBodyBytes; // validate early
        s.LogFormat = p.GetValue(o.LogFormat) ?? s.LogFormat;
        if (s.GrpcPort != 0 && s.GrpcPort == s.Port) throw new UsageException("--grpc-port must differ from --port (or be 0 to disable gRPC).");
    }
}
