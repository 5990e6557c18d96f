using System.Net;
using System.Threading.Channels;
using Google.Protobuf;
using InferServe.Grpc.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferServe.Grpc.Tests.Infrastructure;

/// <summary>
/// A real Kestrel server (h2c, loopback, free port) implementing inferserve.test.Interop with the same
/// semantics as the python peer. Handlers report every observed cancellation to <see cref="Cancellations"/>.
/// </summary>
public sealed class InteropServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<string> _cancellations = Channel.CreateUnbounded<string>();

    private InteropServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Target for python (host:port).</summary>
    public string Target => $"{Address.Host}:{Address.Port}";

    public ChannelReader<string> Cancellations => _cancellations.Reader;

    public static async Task<InteropServer> StartAsync(Action<GrpcServerOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.Configure<GrpcServerOptions>(o => configure?.Invoke(o));
        var app = builder.Build();
        InteropServer? self = null;
        MapInterop(app, () => self!);
        app.MapGrpcUnary<EchoRequest, EchoReply>(InteropMethods.Service, "Crash", (_, _) => throw new InvalidOperationException("secret stack detail"));
        app.MapGrpcUnary<EchoRequest, EchoReply>(InteropMethods.Service, "Headers", (_, ctx) =>
        {
            ctx.ResponseTrailers["x-trailer"] = "done";
            return Task.FromResult(new EchoReply { Text = ctx.RequestHeaders["x-request-id"].ToString() });
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        self = new InteropServer(app, new Uri(address));
        return self;
    }

    public ValueTask<string> NextCancellationAsync() =>
        Cancellations.ReadAsync(new CancellationTokenSource(InteropMethods.TestTimeout).Token);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private static void MapInterop(WebApplication app, Func<InteropServer> self)
    {
        app.MapGrpcUnary(InteropMethods.Unary, async (request, context) =>
        {
            FailIfAsked(request);
            await self().DelayAsync(request.DelayMs, "Unary", context.CancellationToken);
            var suffix = context.RequestHeaders["x-suffix"].ToString();
            return new EchoReply { Text = request.Text + suffix, Payload = request.Payload };
        });

        app.MapGrpcServerStreaming(InteropMethods.ServerStream, async (request, responses, context) =>
        {
            for (var i = 0; i < request.Count; i++)
            {
                await self().DelayAsync(request.DelayMs, "ServerStream", context.CancellationToken);
                try
                {
                    await responses.WriteAsync(new EchoReply { Text = request.Text, Index = i }, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    self().Report("ServerStream");
                    throw;
                }
            }

            FailIfAsked(request);
        });

        app.MapGrpcClientStreaming(InteropMethods.ClientStream, async (requests, context) =>
        {
            var texts = new List<string>();
            await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
            {
                texts.Add(request.Text);
            }

            return new EchoReply { Text = string.Join(',', texts), Index = texts.Count };
        });

        app.MapGrpcDuplex(InteropMethods.Duplex, async (requests, responses, context) =>
        {
            var index = 0;
            try
            {
                await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
                {
                    await self().DelayAsync(request.DelayMs, "Duplex", context.CancellationToken);
                    await responses.WriteAsync(new EchoReply { Text = request.Text, Index = index++, Payload = request.Payload }, context.CancellationToken);
                }
            }
            catch (Exception) when (context.CancellationToken.IsCancellationRequested)
            {
                self().Report("Duplex");
                throw;
            }
        });
    }

    private static void FailIfAsked(EchoRequest request)
    {
        if (request.StatusCode != 0)
        {
            throw new RpcException((StatusCode)request.StatusCode, request.Text);
        }
    }

    private async Task DelayAsync(int delayMs, string method, CancellationToken cancellationToken)
    {
        if (delayMs <= 0)
        {
            return;
        }

        try
        {
            await Task.Delay(delayMs, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Report(method);
            throw;
        }
    }

    private void Report(string method) => _cancellations.Writer.TryWrite(method);
}
