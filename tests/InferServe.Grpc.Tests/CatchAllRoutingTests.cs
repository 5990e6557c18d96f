using System.Net;
using System.Text;
using InferServe.Grpc.Tests.Infrastructure;
using InferServe.Grpc.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferServe.Grpc.Tests;

/// <summary>
/// The UNIMPLEMENTED catch-all shares an app with REST endpoints (the OpenAI gateway): it must only claim gRPC
/// requests, or every request on a port configured as gRPC-only.
/// </summary>
public sealed class CatchAllRoutingTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private Uri _shared = null!;
    private Uri _grpcOnly = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            // h2c on both (cleartext Http1AndHttp2 would not accept prior-knowledge HTTP/2 from the gRPC client).
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
        });
        _app = builder.Build();
        _app.MapGrpcUnary(InteropMethods.Unary, (request, _) => Task.FromResult(new EchoReply { Text = request.Text }));
        _app.MapPost("/v1/completions", () => Results.Text("rest"));
        await _app.StartAsync(TestContext.Current.CancellationToken);
        var addresses = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Select(a => new Uri(a)).ToArray();
        Assert.Equal(2, addresses.Length);
        _shared = addresses[0];
        _grpcOnly = addresses[1];
        _app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<GrpcServerOptions>>().Value.GrpcOnlyPorts.Add(_grpcOnly.Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private static HttpClient Http2() => new()
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = InteropMethods.TestTimeout,
    };

    [Theory]
    [InlineData("/v1/foo")]
    [InlineData("/inferserve.test.Interop/Missing")]
    public async Task Unknown_rest_route_on_shared_port_gets_the_apps_404(string path)
    {
        using var http = Http2();
        using var content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(_shared, path), content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task Rest_route_on_shared_port_still_works()
    {
        using var http = Http2();
        using var content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(_shared, "/v1/completions"), content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("rest", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Unknown_grpc_method_on_shared_port_is_unimplemented()
    {
        using var client = new GrpcClient(_shared);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.UnaryAsync(InteropMethods.Missing, new EchoRequest(), CallOptions.FromTimeout(InteropMethods.TestTimeout, TestContext.Current.CancellationToken)));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);

        var reply = await client.UnaryAsync(InteropMethods.Unary, new EchoRequest { Text = "hi" }, CallOptions.FromTimeout(InteropMethods.TestTimeout, TestContext.Current.CancellationToken));
        Assert.Equal("hi", reply.Text);
    }

    [Fact]
    public async Task Non_grpc_post_on_grpc_only_port_gets_415()
    {
        using var http = Http2();
        using var content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(_grpcOnly, "/v1/foo"), content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }
}
