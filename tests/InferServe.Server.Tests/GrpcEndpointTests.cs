using System.Net;
using System.Net.Sockets;
using InferServe.Server.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server.Tests;

public sealed class GrpcEndpointTests
{
    [Fact]
    public async Task The_grpc_hook_is_called_and_its_routes_answer_on_the_h2c_port_over_http2()
    {
        int grpcPort = FreePort();
        bool hookCalled = false;
        await using var gw = await TestGateway.StartAsync(s => s.GrpcPort = grpcPort, hooks: new GatewayHooks
        {
            MapGrpcApi = (app, host) =>
            {
                hookCalled = true;
                app.MapPost("/inferserve.test.Probe/Ping", (HttpContext ctx) => ctx.Response.WriteAsync(ctx.Request.Protocol));
            },
        });
        Assert.True(hookCalled);

        using var h2c = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{grpcPort}"), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var response = await h2c.PostAsync("/inferserve.test.Probe/Ping", new StringContent(""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(2, 0), response.Version);
        Assert.Equal("HTTP/2", await response.Content.ReadAsStringAsync());

        // The OpenAI routes (and their API-key check) belong to the HTTP port only.
        var leaked = await h2c.PostAsync("/v1/completions", new StringContent("""{"prompt":"Hi"}"""));
        Assert.Equal(HttpStatusCode.NotFound, leaked.StatusCode);
        Assert.True(gw.Server.IsAuthorized("Bearer " + TestGateway.ApiKey));
        Assert.False(gw.Server.IsAuthorized("Bearer nope"));
        Assert.False(gw.Server.IsAuthorized(null));
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
