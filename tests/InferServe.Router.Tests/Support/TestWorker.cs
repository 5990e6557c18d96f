using System.Net;
using InferServe.Engine.Hosting;
using InferServe.Metrics;
using InferServe.Tests.Shared;
using InferServe.Tests.Support;
using InferServe.Workers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace InferServe.Router.Tests.Support;

/// <summary>
/// A real worker in this process: the worker's gRPC service over the generated tiny model (one engine shared by all),
/// served h2c by Kestrel on a loopback port from <see cref="FreePorts"/>. <see cref="KillAsync"/> drops it the way a
/// crashed process does (connections cut, nothing drained) and <see cref="StartAsync()"/> brings it back on the same port.
/// </summary>
public sealed class TestWorker : IAsyncDisposable
{
    private const string ModelName = "tiny-test";
    private WebApplication? _app;

    public WorkerService Service { get; }
    public int Port { get; } = FreePorts.Next();
    public string Address => $"http://127.0.0.1:{Port}";

    private TestWorker(string role)
    {
        var engine = TestEngine.Engine;
        var host = new EngineHost(new EngineSettings(), ModelName);
        host.SetLoaded(engine);
        var options = new WorkerOptions { Role = role, ServedModelName = ModelName };
        var metrics = new WorkerMetrics(new MetricRegistry(), role, () => engine.Engine.Stats, () => engine.Engine.Leases, () => engine.Engine.ImportFallbacks);
        Service = new WorkerService(host, options, metrics, new BlockEventLog(), new KvPuller(metrics, options.PullTimeout));
    }

    public static async Task<TestWorker> StartAsync(string role)
    {
        var worker = new TestWorker(role);
        await worker.StartAsync();
        return worker;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapWorkerGrpc(Service);
        await app.StartAsync(TestContext.Current.CancellationToken);
        _app = app;
    }

    /// <summary>Stops serving at once: open calls are aborted, as when the worker process dies.</summary>
    public async Task KillAsync()
    {
        if (_app is not { } app) return;
        _app = null;
        await app.StopAsync(new CancellationToken(canceled: true));
        await app.DisposeAsync();
    }

    /// <summary>Leaves the shared engine running; only the server stops.</summary>
    public async ValueTask DisposeAsync() => await KillAsync();
}
