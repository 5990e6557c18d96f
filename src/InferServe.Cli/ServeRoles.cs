using System.Runtime.InteropServices;
using InferServe.Contracts.Hosting;
using InferServe.Engine.Hosting;
using InferServe.Metrics;
using InferServe.Router;
using InferServe.Server;
using InferServe.Server.Security;
using InferServe.Tokenization;
using InferServe.Workers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferServe.Cli;

/// <summary>
/// Composes a serving process for its role: the one-process server (all), a prefill or decode worker (engine +
/// worker protocol), or a gateway (router + the public APIs, no weights and no ONNX Runtime).
/// </summary>
public static class ServeRoles
{
    public static async Task<int> RunAsync(ServeSettings settings, RouterOptions router, WorkerRegistrationOptions? registration = null)
    {
        var servedName = settings.ServedModelName ?? ServerSettings.DefaultServedName(settings.Engine.Model);
        return settings.Role switch
        {
            "gateway" => await RunGatewayAsync(settings, router, servedName),
            "prefill" or "decode" => await RunWorkerAsync(settings, servedName, registration),
            _ => await RunAllAsync(settings, servedName),
        };
    }

    private static async Task<int> RunAllAsync(ServeSettings settings, string servedName)
    {
        await using var host = EngineFactory.Host(settings.Engine, servedName);
        await using var server = ServingHost.Create(settings, host);
        return await ServeUntilStoppedAsync(server, host);
    }

    /// <summary>
    /// Starts the server and loads the model, then serves until shutdown (exit 0). A load is never retried, so a model that
    /// fails to load ends the process with its reason on one line and exit 1, rather than leaving /ready at 503 forever.
    /// </summary>
    private static async Task<int> ServeUntilStoppedAsync(ServingHost server, ModelHost host)
    {
        await server.StartAsync(loadModel: true);
        var running = server.RunAsync();
        var loaded = host.WhenLoaded;
        if (await Task.WhenAny(running, loaded) == loaded && !loaded.IsCompletedSuccessfully)
        {
            Console.Error.WriteLine($"error: {host.LoadError?.Message ?? "the model failed to load."}");
            await server.App.StopAsync();
            return 1;
        }
        await running;
        return 0;
    }

    private static async Task<int> RunWorkerAsync(ServeSettings settings, string servedName, WorkerRegistrationOptions? registration)
    {
        if (settings.GrpcPort == 0) throw new UsageException("A worker needs --grpc-port (the gateway reaches it there).");
        // Loaded before anything starts: a bad certificate is one line and a non-zero exit.
        var credentials = WorkerCredentials.Load(settings);
        // The gateway's gRPC port may present its public certificate (--tls-cert) rather than one from the worker CA.
        if (registration is not null) registration = registration with { Client = credentials?.ClientOptions(alsoTrustSystem: true) };
        var registry = new MetricRegistry();
        await using var host = EngineFactory.Host(settings.Engine, servedName);
        var options = new WorkerOptions
        {
            Role = settings.Role, Weights = settings.Engine.Weights.ToLowerInvariant(), KvDtype = settings.Engine.KvDtype.ToLowerInvariant(), ServedModelName = servedName,
        };
        var metrics = new WorkerMetrics(registry, settings.Role, () => host.Current?.LocalEngine().Stats,
            () => host.Current?.LocalEngine().Leases ?? default, () => host.Current?.LocalEngine().ImportFallbacks ?? 0);
        var blocks = new BlockEventLog();
        using var puller = new KvPuller(metrics, options.PullTimeout, credentials?.ClientOptions());
        var service = new WorkerService(host, options, metrics, blocks, puller);
        await using var server = ServingHost.Create(settings, host, new ServingHostHooks
        {
            Registry = registry,
            WorkerCredentials = credentials,
            ConfigureBuilder = builder => builder.Services.AddWorkerGrpc(service),
            MapGrpcApi = (app, _) =>
            {
                app.MapWorkerGrpc().RequireHost($"*:{settings.GrpcPort}");
                // SIGTERM: refuse new work at once; Kestrel then lets running calls finish (shutdown timeout).
                app.Lifetime.ApplicationStopping.Register(service.Drain);
            },
        });
        WorkerRegistration? announcer = null;
        _ = host.WhenLoaded.ContinueWith(t =>
        {
            if (!t.IsCompletedSuccessfully) return;
            t.Result.LocalEngine().BlockEvent += blocks.OnBlockEvent;
            if (registration is null) return;
            var log = server.App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("InferServe.Workers");
            announcer = new WorkerRegistration(registration, () => Task.FromResult(service.Info()), log);
            announcer.Start();
        }, TaskScheduler.Default);
        int exit = await ServeUntilStoppedAsync(server, host);
        if (announcer is not null) await announcer.DisposeAsync();
        return exit;
    }

    private static async Task<int> RunGatewayAsync(ServeSettings settings, RouterOptions router, string servedName)
    {
        var model = settings.Engine.Model ?? throw new UsageException("--role gateway needs the model (--model) for its tokenizer and chat template.");
        var tokenizerPath = settings.Engine.Tokenizer ?? FindTokenizer(model);
        var registry = new MetricRegistry();
        var credentials = WorkerCredentials.Load(settings);
        ServingHost? server = null;
        await using var host = new ModelHost(servedName, model, _ =>
        {
            var tokenizer = TokenizerLoader.Load(tokenizerPath);
            var log = server!.App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("InferServe.Router");
            var service = new RemoteGenerationService(router, tokenizer, registry, log, credentials?.ClientOptions());
            return new LoadedModel(service, model, Directory.Exists(model) ? model : null, service);
        });
        await using (server = ServingHost.Create(settings, host, new ServingHostHooks
        {
            Registry = registry,
            WorkerCredentials = credentials,
            // Workers started with --gateway register on the public gRPC port.
            ConfigureBuilder = builder => builder.Services.AddSingleton(new RegistryService(() => (host.Current?.Service as RemoteGenerationService)?.Workers)),
            MapGrpcApi = (app, _) =>
            {
                if (settings.GrpcPort > 0) app.MapGrpcService<RegistryService>().RequireHost($"*:{settings.GrpcPort}");
            },
        }))
        {
            return await ServeUntilStoppedAsync(server, host);
        }
    }

    /// <summary>The gateway reads only the tokenizer: a HF directory or a GGUF holds it; a llama2.c checkpoint has it beside.</summary>
    private static string FindTokenizer(string model)
    {
        if (Directory.Exists(model)) return model;
        if (!File.Exists(model)) throw new UsageException($"Model path '{model}' does not exist.");
        if (model.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return model; // tokenizer.* metadata inside
        var dir = Path.GetDirectoryName(Path.GetFullPath(model))!;
        Span<byte> header = stackalloc byte[28];
        using (var f = File.OpenRead(model)) f.ReadExactly(header);
        int vocab = Math.Abs(MemoryMarshal.Read<int>(header[20..]));
        foreach (var candidate in new[] { "tokenizer.bin", $"tok{vocab}.bin" })
            if (File.Exists(Path.Combine(dir, candidate))) return Path.Combine(dir, candidate);
        throw new UsageException($"No tokenizer found beside '{model}'; pass --tokenizer.");
    }
}
