using InferServe.Contracts.Hosting;
using InferServe.Engine.Hosting;
using InferServe.Metrics;
using InferServe.TestSupport;
using InferServe.Workers;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace InferServe.Router.Tests.Support;

/// <summary>
/// A real worker in this process: the worker's gRPC service over the generated tiny model (one engine shared by all),
/// served h2c by Kestrel on a loopback port from <see cref="FreePorts"/>. <see cref="KillAsync"/> drops it the way a
/// crashed process does (connections cut, nothing drained) and <see cref="StartAsync()"/> brings it back on the same port.
/// </summary>
public sealed class TestWorker : IAsyncDisposable
{
    private const string ModelName = "tiny-test";
    private LoopbackServer? _server;

    public WorkerService Service { get; }
    public int Port { get; } = FreePorts.Next();
    public string Address => $"http://127.0.0.1:{Port}";

    private TestWorker(string role)
    {
        var loaded = TestEngine.Engine;
        var engine = loaded.LocalEngine();
        var host = new ModelHost(ModelName, modelPath: null, _ => throw new InvalidOperationException("The test sets the model."));
        host.SetLoaded(loaded);
        var options = new WorkerOptions { Role = role, ServedModelName = ModelName };
        var metrics = new WorkerMetrics(new MetricRegistry(), role, () => engine.Stats, () => engine.Leases, () => engine.ImportFallbacks);
        Service = new WorkerService(host, options, metrics, new BlockEventLog(), new KvPuller(metrics, options.PullTimeout));
    }

    public static async Task<TestWorker> StartAsync(string role)
    {
        var worker = new TestWorker(role);
        await worker.StartAsync();
        return worker;
    }

    public async Task StartAsync() =>
        _server = await LoopbackServer.StartAsync(app => app.MapWorkerGrpc(), TestContext.Current.CancellationToken, Port, HttpProtocols.Http2,
            services => services.AddGrpc().Services.AddWorkerGrpc(Service));

    /// <summary>Stops serving at once: open calls are cut, as when the worker process dies.</summary>
    public async Task KillAsync()
    {
        if (_server is not { } server) return;
        _server = null;
        await server.KillAsync();
    }

    /// <summary>Leaves the shared engine running; only the server stops.</summary>
    public async ValueTask DisposeAsync() => await KillAsync();
}
