using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferServe.TestSupport;

/// <summary>
/// Kestrel on 127.0.0.1 serving a test's own endpoints (a metrics endpoint, a hub, a worker's gRPC service), without logs.
/// Port 0 lets Kestrel pick; a fixed port (from <see cref="FreePorts"/>) lets a test stop the server and start another
/// in its place.
/// </summary>
public sealed class LoopbackServer : IAsyncDisposable
{
    public WebApplication App { get; }
    /// <summary>http://127.0.0.1:port</summary>
    public Uri BaseAddress { get; }

    private LoopbackServer(WebApplication app)
    {
        App = app;
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    /// <param name="services">Registers what <paramref name="map"/> needs (a gRPC service and its dependencies).</param>
    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> map, CancellationToken ct, int port = 0,
        HttpProtocols protocols = HttpProtocols.Http1AndHttp2, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = protocols));
        var app = builder.Build();
        map(app);
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new LoopbackServer(app);
    }

    /// <summary>Stops at once: open calls are cut, nothing drains, as when a process dies.</summary>
    public async Task KillAsync()
    {
        await App.StopAsync(new CancellationToken(canceled: true));
        await App.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
