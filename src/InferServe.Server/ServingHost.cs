using InferServe.Api.Grpc;
using InferServe.Contracts;
using InferServe.Contracts.Hosting;
using InferServe.Metrics;
using InferServe.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>
/// The HTTP side of a serving process, on Kestrel: the OpenAI API (/v1/completions, /v1/chat/completions, /v1/models)
/// over a generation service (the local engine, or a gateway's router), /health, /ready and /metrics; a worker serves
/// only the probes and /metrics. Kestrel starts first; the model loads in the background.
/// This type composes the pieces (host, middleware, routes, model loading) and owns their lifetime.
/// </summary>
public sealed class ServingHost : IAsyncDisposable
{
    private readonly ServerSettings _settings;
    private readonly KestrelEndpoints _endpoints;
    private readonly ApiKeyAuthentication _authentication;
    private readonly ModelLifecycle _lifecycle;
    private readonly ILogger _log;

    public WebApplication App { get; }
    public ModelHost Host { get; }
    public MetricRegistry Registry { get; }
    public EngineMetrics Metrics { get; }
    public IEngineObserver Observer { get; }
    public string ServedModelName { get; }

    private ServingHost(ServerSettings settings, ModelHost host, ServingHostHooks hooks)
    {
        _settings = settings;
        Host = host;
        // Credentials first: a bad file or key fails before anything is built.
        var apiKeys = settings.ResolveApiKeys();
        var certificate = LoadPublicCertificate(settings);
        WorkerCredentials = hooks.WorkerCredentials ?? WorkerCredentials.Load(settings);
        Registry = hooks.Registry ?? new MetricRegistry();
        ProcessMetrics.Register(Registry);
        ServedModelName = host.ServedModelName;
        Metrics = new EngineMetrics(Registry, ServedModelName, new EngineMetricsOptions { Prefix = "inferserve_" });
        Metrics.BindRunning(() => Host.Current?.Service.Stats.Running ?? 0);
        Metrics.BindWaiting(() => Host.Current?.Service.Stats.Waiting ?? 0);
        Metrics.BindKvCacheUsage(() => Host.Current?.Service.Stats.KvUsage ?? 0);
        Observer = new MetricsObserver(Metrics);
        _endpoints = new KestrelEndpoints(settings, certificate, WorkerCredentials);
        _authentication = new ApiKeyAuthentication(apiKeys, _endpoints, settings.IsWorker);

        App = ServingHostBuilder.Build(settings, host, _endpoints, hooks);
        _log = App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("InferServe.Server");
        _lifecycle = new ModelLifecycle(host, Metrics, Observer, _log);
        var requests = Registry.CreateCounter("inferserve_http_requests", "HTTP requests by route (endpoint), method and final status.", "endpoint", "method", "status");
        App.Use(new ErrorMappingMiddleware(_log, _endpoints, settings.MaxBodySize, requests).InvokeAsync);
        if (WorkerCredentials is not null) App.Use(new WorkerAuthentication(WorkerCredentials, _endpoints, settings.IsWorker, _log).InvokeAsync);
        App.Use(_authentication.InvokeAsync);
        App.UseGrpcBadInputStatus();
        ServingRoutes.Map(App, settings, host, Registry, _endpoints, new ChatTemplateCache(settings.ChatTemplate, settings.ToolCallParser, settings.ChatTemplateLimits.ToOptions(), _log), _log);
        // A worker's gRPC port carries the worker protocol (mapped by the hook) instead of the public API.
        if (settings.GrpcPort > 0 && !settings.IsWorker) MapGrpcApi(App, settings.GrpcPort);
        if (settings.GrpcPort > 0) GrpcHosting.MapHealth(App, settings.GrpcPort);
        hooks.MapGrpcApi?.Invoke(App, host);
    }

    /// <summary>Credentials of the worker links, or null when they are open.</summary>
    public WorkerCredentials? WorkerCredentials { get; }

    /// <summary>--tls-cert with --tls-key, or null for plain HTTP; one flag without the other is an error.</summary>
    private static CertificateWithChain? LoadPublicCertificate(ServerSettings s)
    {
        if (s.TlsCert is null && s.TlsKey is null) return null;
        if (s.TlsCert is null || s.TlsKey is null) throw new CredentialException("--tls-cert and --tls-key go together: the PEM certificate and its private key.");
        return PemCredentials.LoadCertificate(s.TlsCert, s.TlsKey, "--tls-cert", "--tls-key");
    }

    public static ServingHost Create(ServerSettings settings, ModelHost host, ServingHostHooks? hooks = null) => new(settings, host, hooks ?? new ServingHostHooks());

    /// <summary>
    /// The public gRPC API (inferserve.v1.Inference) on the h2c endpoint only. With API keys configured,
    /// calls must send `authorization: Bearer KEY` metadata, else UNAUTHENTICATED.
    /// </summary>
    private static void MapGrpcApi(WebApplication app, int grpcPort) =>
        InferServe.Api.Grpc.InferenceGrpcEndpoints.MapInferenceGrpc(app).RequireHost($"*:{grpcPort}");

    private ICollection<string> Addresses => App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;

    /// <summary>The bound HTTP base address (e.g. http://127.0.0.1:8000), known after <see cref="StartAsync"/>.</summary>
    public Uri BaseAddress => new(Addresses.First());

    /// <summary>Starts Kestrel; with <paramref name="loadModel"/> the engine then loads in the background.</summary>
    public async Task StartAsync(bool loadModel = true, CancellationToken ct = default)
    {
        await App.StartAsync(ct);
        if (WorkerCredentials is null && (_settings.IsWorker || _settings.Role == "gateway") && !IsLoopback(_settings.Host))
        {
            _log.LogWarning("The worker links are not authenticated and --host {Host} is not loopback: anyone who reaches the gRPC port can {Action}. " +
                "Set --worker-tls-cert/--worker-tls-key/--worker-ca or --worker-token (README: Hardened deployment).", _settings.Host,
                _settings.IsWorker ? "read and inject prompts and KV" : "register workers");
        }

        _log.LogInformation("Role {Role}: listening on {Addresses}; model '{Model}' served as '{ServedModelName}'", _settings.Role,
            string.Join(", ", Addresses), Host.ModelPath, ServedModelName);
        if (loadModel) _ = StartLoadingModel();
    }

    /// <summary>Loads the engine with the metrics observer attached; readiness flips when it completes.</summary>
    public Task StartLoadingModel() => _lifecycle.StartLoading();

    private static bool IsLoopback(string host) =>
        host is "localhost" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    public Task RunAsync(CancellationToken ct = default) => App.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try { await App.StopAsync(); } catch (ObjectDisposedException) { }
        await App.DisposeAsync();
    }

    /// <summary>Whether the request arrived on the gRPC (h2c) endpoint; the gateway's middleware leaves those alone.</summary>
    public bool IsGrpcPort(HttpContext ctx) => _endpoints.IsGrpcPort(ctx);

    /// <summary>
    /// Checks an "Authorization: Bearer KEY" value against the configured keys (constant-time). True when no keys are configured.
    /// For the gRPC API to apply the same keys to its "authorization" metadata.
    /// </summary>
    public bool IsAuthorized(string? authorization) => _authentication.IsAuthorized(authorization);
}
