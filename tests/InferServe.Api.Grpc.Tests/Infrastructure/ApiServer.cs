using System.Net;
using Grpc.Net.Client;
using InferServe.Api.Grpc.V1;
using InferServe.Contracts.Hosting;
using InferServe.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferServe.Api.Grpc.Tests.Infrastructure;

/// <summary>Real Kestrel (h2c, loopback, free port) serving inferserve.v1.Inference over an <see cref="ModelHost"/>.</summary>
public sealed class ApiServer : IAsyncDisposable
{
    public const string ModelName = "tiny-test";

    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private ApiServer(WebApplication app, ModelHost host, Uri address)
    {
        _app = app;
        Host = host;
        Address = address;
        _channel = GrpcCalls.Channel(address);
        Client = new Inference.InferenceClient(_channel);
    }

    public ModelHost Host { get; }

    public Uri Address { get; }

    /// <summary>Target for python (host:port).</summary>
    public string Target => $"{Address.Host}:{Address.Port}";

    public Inference.InferenceClient Client { get; }

    /// <summary>Serves <paramref name="engine"/>, or an engine that never finishes loading when null.</summary>
    public static async Task<ApiServer> StartAsync(LoadedModel? engine)
    {
        var host = new ModelHost(ModelName, modelPath: null, _ => throw new InvalidOperationException("The test sets the model."));
        if (engine is not null)
        {
            host.SetLoaded(engine);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSingleton(host).AddGrpc();
        builder.Services.AddInferenceGrpc();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.UseGrpcBadInputStatus();
        app.MapInferenceGrpc();
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new ApiServer(app, host, new Uri(address));
    }

    /// <summary>Leaves the engine running (it is shared); only the server stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
