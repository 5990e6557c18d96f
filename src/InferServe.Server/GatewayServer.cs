using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using InferServe.Engine;
using InferServe.Engine.Hosting;
using InferServe.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InferServe.Server;

/// <summary>Extension points of the gateway host.</summary>
public sealed class GatewayHooks
{
    /// <summary>Maps the public gRPC API (served on the h2c endpoint at <see cref="ServerSettings.GrpcPort"/>). Called after the HTTP routes are mapped.</summary>
    public Action<WebApplication, EngineHost>? MapGrpcApi { get; init; }
    /// <summary>Extra service / logging configuration (e.g. AddGrpc()).</summary>
    public Action<WebApplicationBuilder>? ConfigureBuilder { get; init; }
    /// <summary>Replaces the console logging setup (tests).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
    /// <summary>The registry /metrics serves, when the caller registers metrics of its own (workers, router).</summary>
    public MetricRegistry? Registry { get; init; }
}

/// <summary>
/// The OpenAI-compatible HTTP gateway over one engine, on Kestrel: /v1/completions, /v1/chat/completions,
/// /v1/models, /health, /ready, /metrics. Kestrel starts first; the model loads in the background.
/// </summary>
public sealed partial class GatewayServer : IAsyncDisposable
{
    internal const string RequestIdItem = "inferserve.request_id";
    private readonly ServerSettings _settings;
    private readonly byte[][] _keyHashes;
    private readonly Lock _chatGate = new();
    private ChatPromptBuilder? _chat;
    private readonly ILogger _log;

    public WebApplication App { get; }
    public EngineHost Host { get; }
    public MetricRegistry Registry { get; }
    public EngineMetrics Metrics { get; }
    public IEngineObserver Observer { get; }
    public string ServedModelName { get; }

    private GatewayServer(ServerSettings settings, EngineHost host, GatewayHooks hooks)
    {
        _settings = settings;
        Host = host;
        Registry = hooks.Registry ?? new MetricRegistry();
        ServedModelName = host.ServedModelName;
        _keyHashes = settings.ResolveApiKeys().Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();
        Metrics = new EngineMetrics(Registry, ServedModelName, new EngineMetricsOptions { Prefix = "inferserve_" });
        Metrics.BindRunning(() => Host.Current?.Service.Stats.Running ?? 0);
        Metrics.BindWaiting(() => Host.Current?.Service.Stats.Waiting ?? 0);
        Metrics.BindKvCacheUsage(() => Host.Current?.Service.Stats.KvUsage ?? 0);
        Observer = new MetricsObserver(Metrics);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);
        if (hooks.ConfigureLogging is not null) hooks.ConfigureLogging(builder.Logging);
        else if (settings.LogFormat.Equals("json", StringComparison.OrdinalIgnoreCase))
            builder.Logging.AddJsonConsole(o => { o.IncludeScopes = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
        else
            builder.Logging.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        // Start-up failures (a port in use) reach the CLI, which prints one line; no stack trace in the log.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(1, settings.ShutdownTimeoutSeconds)));
        long maxBody = settings.MaxBodyBytes;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = maxBody;
            Listen(k, settings.Host, settings.Port, HttpProtocols.Http1);
            if (settings.GrpcPort > 0) Listen(k, settings.Host, settings.GrpcPort, HttpProtocols.Http2);
        });
        if (settings.GrpcPort > 0)
            builder.Services.Configure<InferServe.Grpc.GrpcServerOptions>(o => o.GrpcOnlyPorts.Add(settings.GrpcPort));
        hooks.ConfigureBuilder?.Invoke(builder);
        App = builder.Build();
        _log = App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("InferServe.Server");
        Configure(App);
        // A worker's gRPC port carries the worker protocol (mapped by the hook) instead of the public API.
        if (settings.GrpcPort > 0 && !settings.IsWorker) MapGrpcApi(App, host, settings.GrpcPort);
        hooks.MapGrpcApi?.Invoke(App, host);
    }

    /// <summary>
    /// The public gRPC API (inferserve.v1.Inference) on the h2c endpoint only. With API keys configured,
    /// calls must send `authorization: Bearer KEY` metadata, else UNAUTHENTICATED.
    /// </summary>
    private void MapGrpcApi(WebApplication app, EngineHost host, int grpcPort) =>
        InferServe.Api.Grpc.InferenceGrpcEndpoints.MapInferenceGrpc(app, host).RequireHost($"*:{grpcPort}");

    private Task AuthenticateGrpcAsync(HttpContext ctx, RequestDelegate next)
    {
        if (_keyHashes.Length == 0 || IsAuthorized(ctx.Request.Headers.Authorization.ToString())) return next(ctx);
        // Trailers-Only response: HTTP 200 with the status in headers, as gRPC clients expect.
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/grpc";
        ctx.Response.Headers["grpc-status"] = "16";
        ctx.Response.Headers["grpc-message"] = "missing or invalid API key";
        return Task.CompletedTask;
    }

    public static GatewayServer Create(ServerSettings settings, EngineHost host, GatewayHooks? hooks = null) => new(settings, host, hooks ?? new GatewayHooks());

    private static void Listen(KestrelServerOptions k, string host, int port, HttpProtocols protocols)
    {
        Action<ListenOptions> configure = o => o.Protocols = protocols;
        if (host is "localhost") k.ListenLocalhost(port, configure);
        else if (host is "*" or "+" or "" or "0.0.0.0" or "::") k.ListenAnyIP(port, configure);
        else if (IPAddress.TryParse(host, out var ip)) k.Listen(ip, port, configure);
        else throw new ArgumentException($"--host must be an IP address, localhost or 0.0.0.0; got '{host}'.");
    }

    /// <summary>The bound HTTP base address (e.g. http://127.0.0.1:8000), known after <see cref="StartAsync"/>.</summary>
    public Uri BaseAddress
    {
        get
        {
            var addresses = App.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            return new Uri(addresses.First());
        }
    }

    /// <summary>Starts Kestrel; with <paramref name="loadModel"/> the engine then loads in the background.</summary>
    public async Task StartAsync(bool loadModel = true, CancellationToken ct = default)
    {
        await App.StartAsync(ct);
        _log.LogInformation("Role {Role}: listening on {Addresses}; model '{Model}' served as '{ServedModelName}'", _settings.Role,
            string.Join(", ", App.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses),
            Host.Settings.Model, ServedModelName);
        if (loadModel) _ = StartLoadingModel();
    }

    /// <summary>Loads the engine with the metrics observer attached; readiness flips when it completes.</summary>
    public Task StartLoadingModel()
    {
        var started = Stopwatch.GetTimestamp();
        _log.LogInformation("Loading model {Model}", Host.Settings.Model);
        _ = Host.StartLoading(Observer, m => _log.LogInformation("{LoadMessage}", m));
        return Host.WhenLoaded.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) OnLoaded(t.Result, Stopwatch.GetElapsedTime(started));
            else _log.LogError(t.Exception?.InnerException, "Model load failed");
        }, TaskScheduler.Default);
    }

    private void OnLoaded(LoadedEngine loaded, TimeSpan elapsed)
    {
        if (!loaded.IsLocal)
        {
            _log.LogInformation("Routing to workers; ready once a prefill and a decode worker answer");
            return;
        }
        var facts = loaded.Service.Facts;
        Metrics.SetCacheConfig(new CacheConfigInfo(facts.KvBlockSize, Host.Settings.KvDtype.ToLowerInvariant(), facts.KvTotalBlocks,
            EnablePrefixCaching: Host.Settings.PrefixCaching));
        _log.LogInformation("Model ready in {ElapsedSeconds:F2}s: context {MaxContext}, {Blocks} KV blocks of {BlockSize} tokens",
            elapsed.TotalSeconds, facts.MaxContext, facts.KvTotalBlocks, facts.KvBlockSize);
    }

    internal ChatPromptBuilder ChatBuilder(LoadedEngine loaded)
    {
        lock (_chatGate)
        {
            try
            {
                return _chat ??= new ChatPromptBuilder(loaded, _settings.ChatTemplate);
            }
            catch (InferServe.ChatTemplates.ChatTemplateException e)
            {
                _log.LogError(e, "The chat template is invalid");
                throw new ApiException(500, "The server's chat template is invalid: " + e.Message, null, "chat_template_invalid");
            }
        }
    }

    public Task RunAsync(CancellationToken ct = default) => App.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try { await App.StopAsync(); } catch (ObjectDisposedException) { }
        await App.DisposeAsync();
    }

    private void Configure(WebApplication app)
    {
        var generation = new GenerationEndpoint(this, _log);
        app.Use(ErrorsAndRequestIdAsync);
        app.Use(AuthenticateAsync);
        app.UseRouting();
        // The h2c port belongs to the gRPC API: the HTTP gateway's routes (and their API-key check) are not served there.
        app.Use((ctx, next) => IsGrpcPort(ctx) && ctx.GetEndpoint()?.Metadata.GetMetadata<HttpGatewayRoute>() is not null
            ? Task.FromResult(ctx.Response.StatusCode = 404)
            : next(ctx));

        var routes = new List<IEndpointConventionBuilder>
        {
            app.MapGet("/health", (HttpContext ctx) => Json(ctx, 200, "{\"status\":\"ok\"}")),
            app.MapGet("/ready", (HttpContext ctx) =>
                Host.Current?.Service is IReadinessProbe probe && !probe.IsReady(out var reason)
                    ? ErrorWriter.WriteAsync(ctx, 503, "Not ready: " + reason, null, null, "workers_unavailable")
                : Host.IsReady ? Json(ctx, 200, "{\"status\":\"ready\"}")
                : Host.LoadError is { } e ? ErrorWriter.WriteAsync(ctx, 503, "The model failed to load: " + e.Message, null, null, "model_load_failed")
                : ErrorWriter.WriteAsync(ctx, 503, "The model is still loading.", null, null, "model_loading")),
            app.MapPrometheusMetrics("/metrics", Registry),
        };
        if (_settings.IsWorker)
        {
            foreach (var r in routes) r.WithMetadata(HttpGatewayRoute.Instance);
            return;
        }
        routes.AddRange(
        [
            app.MapGet("/v1/models", ListModels),
            app.MapGet("/v1/models/{id}", (HttpContext ctx, string id) =>
                id == ServedModelName ? ListModels(ctx, single: true)
                : ErrorWriter.WriteAsync(ctx, 404, $"The model '{id}' does not exist.", "invalid_request_error", "model", "model_not_found")),
            app.MapPost("/v1/completions", (HttpContext ctx) => generation.HandleAsync(ctx, ApiKind.Completions)),
            app.MapPost("/v1/chat/completions", (HttpContext ctx) => generation.HandleAsync(ctx, ApiKind.Chat)),
        ]);
        foreach (var r in routes) r.WithMetadata(HttpGatewayRoute.Instance);
    }

    private sealed class HttpGatewayRoute
    {
        public static readonly HttpGatewayRoute Instance = new();
    }

    /// <summary>Whether the request arrived on the gRPC (h2c) endpoint; the gateway's middleware leaves those alone.</summary>
    public bool IsGrpcPort(HttpContext ctx) => _settings.GrpcPort > 0 && ctx.Connection.LocalPort == _settings.GrpcPort;

    /// <summary>
    /// Checks an "Authorization: Bearer KEY" value against the configured keys (constant-time). True when no keys are configured.
    /// For the gRPC API to apply the same keys to its "authorization" metadata.
    /// </summary>
    public bool IsAuthorized(string? authorization)
    {
        if (_keyHashes.Length == 0) return true;
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[7..].Trim()));
        bool ok = false;
        foreach (var k in _keyHashes) ok |= CryptographicOperations.FixedTimeEquals(hash, k);
        return ok;
    }

    private static Task Json(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(json);
    }

    private Task ListModels(HttpContext ctx) => ListModels(ctx, single: false);

    private Task ListModels(HttpContext ctx, bool single)
    {
        var ms = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(ms, ErrorWriter.JsonOptions))
        {
            if (!single)
            {
                w.WriteStartObject();
                w.WriteString("object", "list");
                w.WriteStartArray("data");
            }
            w.WriteStartObject();
            w.WriteString("id", ServedModelName);
            w.WriteString("object", "model");
            w.WriteNumber("created", _created);
            w.WriteString("owned_by", "inferserve");
            w.WriteString("root", Host.Settings.Model);
            if (Host.Current is { } loaded && TryFacts(loaded) is { } facts) w.WriteNumber("max_model_len", facts.MaxContext);
            w.WriteEndObject();
            if (!single)
            {
                w.WriteEndArray();
                w.WriteEndObject();
            }
        }
        ctx.Response.ContentType = "application/json";
        return ctx.Response.Body.WriteAsync(ms.ToArray()).AsTask();
    }

    private static ModelFacts? TryFacts(LoadedEngine loaded)
    {
        try { return loaded.Service.Facts; }
        catch (ServiceUnavailableException) { return null; }
    }

    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private async Task ErrorsAndRequestIdAsync(HttpContext ctx, RequestDelegate next)
    {
        if (IsGrpcPort(ctx))
        {
            await next(ctx);
            return;
        }
        var incoming = ctx.Request.Headers["X-Request-Id"].ToString();
        var requestId = incoming.Length is > 0 and <= 64 && incoming.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? incoming : Guid.NewGuid().ToString("N");
        ctx.Items[RequestIdItem] = requestId;
        ctx.Response.Headers["X-Request-Id"] = requestId;
        using var scope = _log.BeginScope("request_id={RequestId}", requestId);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(ctx);
            if (!ctx.Response.HasStarted && ctx.Response.ContentLength is null && ctx.Response.ContentType is null)
            {
                if (ctx.Response.StatusCode == 404)
                    await ErrorWriter.WriteAsync(ctx, 404, $"Unknown route: {ctx.Request.Method} {ctx.Request.Path}.", "invalid_request_error", null, "not_found");
                else if (ctx.Response.StatusCode == 405)
                    await ErrorWriter.WriteAsync(ctx, 405, $"Method {ctx.Request.Method} is not allowed for {ctx.Request.Path}.", "invalid_request_error", null, "method_not_allowed");
            }
        }
        catch (ApiException e)
        {
            if (e.Status >= 500) _log.LogError("Request failed: {Status} {Message}", e.Status, e.Message);
            else _log.LogInformation("Rejected: {Status} {Code} {Message}", e.Status, e.Code, e.Message);
            await ErrorWriter.WriteAsync(ctx, e);
        }
        catch (InvalidRequestException e)
        {
            _log.LogInformation("Rejected: 400 {Message}", e.Message);
            await ErrorWriter.WriteAsync(ctx, 400, e.Message, "invalid_request_error", e.Param, "invalid_value");
        }
        catch (ServiceUnavailableException e)
        {
            _log.LogWarning("Rejected: 503 {Message}", e.Message);
            if (!ctx.Response.HasStarted) ctx.Response.Headers.RetryAfter = "1";
            await ErrorWriter.WriteAsync(ctx, 503, e.Message, "server_error", null, "service_unavailable");
        }
        catch (EngineOverloadedException e)
        {
            _log.LogWarning("Rejected: 429 {Message}", e.Message);
            if (!ctx.Response.HasStarted) ctx.Response.Headers.RetryAfter = "1";
            await ErrorWriter.WriteAsync(ctx, 429, e.Message, "rate_limit_error", null, "engine_overloaded");
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e)
        {
            int status = e.StatusCode;
            string message = status == 413 ? $"The request body exceeds the limit of {_settings.MaxBodySize}." : "Bad request: " + e.Message;
            _log.LogInformation("Rejected: {Status} {Message}", status, message);
            await ErrorWriter.WriteAsync(ctx, status, message, "invalid_request_error", null, status == 413 ? "request_too_large" : "bad_request");
        }
        catch (Exception e) when (ctx.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            _log.LogInformation("Client disconnected; request aborted");
        }
        catch (Exception e)
        {
            _log.LogError(e, "Unhandled error");
            await ErrorWriter.WriteAsync(ctx, 500, "Internal server error.", "server_error", null, "internal_error");
        }
        finally
        {
            _log.LogInformation("{Method} {Path} -> {Status} in {ElapsedMs:F1} ms", ctx.Request.Method, ctx.Request.Path.Value,
                ctx.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private Task AuthenticateAsync(HttpContext ctx, RequestDelegate next)
    {
        if (IsGrpcPort(ctx)) return AuthenticateGrpcAsync(ctx, next);
        if (_keyHashes.Length == 0) return next(ctx);
        var path = ctx.Request.Path;
        if (path.Equals("/health") || path.Equals("/ready") || path.Equals("/metrics")) return next(ctx);
        var header = ctx.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return ErrorWriter.WriteAsync(ctx, 401, "Missing API key: send 'Authorization: Bearer <key>'.", "invalid_request_error", null, "invalid_api_key");
        if (!IsAuthorized(header)) return ErrorWriter.WriteAsync(ctx, 401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key");
        return next(ctx);
    }
}
