using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using InferServe.Grpc.Tests.Infrastructure;
using InferServe.Grpc.Tests.Interop;
using static InferServe.Grpc.Tests.Infrastructure.InteropMethods;

namespace InferServe.Grpc.Tests;

/// <summary>Our client against our Kestrel server over real loopback HTTP/2.</summary>
public sealed class LoopbackTests : IAsyncLifetime
{
    private InteropServer _server = null!;
    private GrpcClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await InteropServer.StartAsync(o => o.MaxReceiveMessageSize = 64 * 1024);
        _client = new GrpcClient(_server.Address);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static CallOptions Bounded => BoundedAndCancelledBy(TestContext.Current.CancellationToken);

    private static CallOptions BoundedAndCancelledBy(CancellationToken cancellationToken) =>
        CallOptions.FromTimeout(TestTimeout, cancellationToken);

    [Fact]
    public async Task Unary_call_round_trips_message_and_metadata()
    {
        var options = Bounded with { Headers = [new("x-suffix", "!")] };
        var reply = await _client.UnaryAsync(Unary, new EchoRequest { Text = "héllo", Payload = ByteString.CopyFrom(1, 2, 3) }, options);

        Assert.Equal("héllo!", reply.Text);
        Assert.Equal(new byte[] { 1, 2, 3 }, reply.Payload.ToByteArray());
    }

    [Fact]
    public async Task Server_streaming_delivers_every_message_then_ok()
    {
        using var call = _client.ServerStreaming(ServerStream, new EchoRequest { Text = "tick", Count = 5 }, Bounded);

        var indexes = new List<int>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            indexes.Add(reply.Index);
        }

        Assert.Equal([0, 1, 2, 3, 4], indexes);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Client_streaming_sends_all_requests_and_gets_one_reply()
    {
        using var call = _client.ClientStreaming(ClientStream, Bounded);
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = text }, TestContext.Current.CancellationToken);
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call.ResponseAsync;

        Assert.Equal("a,b,c", reply.Text);
        Assert.Equal(3, reply.Index);
    }

    [Fact]
    public async Task Duplex_streams_flow_in_both_directions_at_once()
    {
        using var call = _client.Duplex(Duplex, Bounded);
        var ct = TestContext.Current.CancellationToken;

        // Ping-pong: each reply arrives before the next request is written, so neither side buffers the whole call.
        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = $"m{i}", Payload = ByteString.CopyFrom(new byte[50_000]) }, ct);
            Assert.True(await call.ResponseStream.MoveNext(ct));
            Assert.Equal($"m{i}", call.ResponseStream.Current.Text);
            Assert.Equal(i, call.ResponseStream.Current.Index);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(ct));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Deadline_ends_the_call_with_deadline_exceeded_and_cancels_the_handler()
    {
        // The connection is set up first, so a loaded machine cannot spend the whole deadline on the
        // handshake: the call must reach the handler before the deadline can cancel it.
        await _client.UnaryAsync(Unary, new EchoRequest { Text = "warm-up" }, Bounded);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(Unary, new EchoRequest { DelayMs = 30_000 }, CallOptions.FromTimeout(TimeSpan.FromMilliseconds(500), TestContext.Current.CancellationToken)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal("Unary", await _server.NextCancellationAsync());
    }

    [Fact]
    public async Task Expired_deadline_fails_locally_without_sending()
    {
        var options = new CallOptions { Deadline = DateTime.UtcNow.AddSeconds(-1) };
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(Unary, new EchoRequest(), options));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task Cancelling_the_token_mid_stream_resets_the_stream_and_cancels_the_handler()
    {
        using var cts = new CancellationTokenSource();
        using var call = _client.ServerStreaming(ServerStream, new EchoRequest { Count = 1000, DelayMs = 20 }, BoundedAndCancelledBy(cts.Token));

        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        cts.Cancel();

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(TestContext.Current.CancellationToken).AsTask());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal("ServerStream", await _server.NextCancellationAsync());
    }

    [Fact]
    public async Task Disposing_an_unfinished_duplex_call_cancels_the_handler()
    {
        var call = _client.Duplex(Duplex, Bounded);
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "x" }, TestContext.Current.CancellationToken);
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));

        call.Dispose();

        Assert.Equal("Duplex", await _server.NextCancellationAsync());
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Rpc_exception_from_handler_reaches_client_with_code_and_unicode_detail()
    {
        const string detail = "bad input: ünïcödé ✓ 100%";
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(Unary, new EchoRequest { Text = detail, StatusCode = (int)StatusCode.InvalidArgument }, Bounded));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(detail, error.Status.Detail);
    }

    [Fact]
    public async Task Error_after_streamed_messages_arrives_in_trailers_after_the_messages()
    {
        using var call = _client.ServerStreaming(
            ServerStream, new EchoRequest { Text = "gone", Count = 2, StatusCode = (int)StatusCode.NotFound }, Bounded);

        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(TestContext.Current.CancellationToken).AsTask());
        Assert.Equal(new Status(StatusCode.NotFound, "gone"), error.Status);
    }

    [Fact]
    public async Task Unexpected_handler_exception_becomes_internal_without_leaking_details()
    {
        var crash = new GrpcMethod<EchoRequest, EchoReply>(Service, "Crash");
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(crash, new EchoRequest(), Bounded));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.DoesNotContain("secret", error.Status.Detail);
        Assert.DoesNotContain("   at ", error.Status.Detail);
    }

    [Fact]
    public async Task Unknown_method_is_unimplemented()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(Missing, new EchoRequest(), Bounded));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task Immediate_error_is_sent_as_trailers_only_response()
    {
        using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var content = new ByteArrayContent(new byte[5]);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        using var response = await http.PostAsync(new Uri(_server.Address, Missing.Path), content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("12", response.Headers.GetValues("grpc-status").Single());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.Empty(response.TrailingHeaders);
    }

    [Fact]
    public async Task Request_metadata_reaches_handler_and_custom_trailers_reach_client()
    {
        var headers = new GrpcMethod<EchoRequest, EchoReply>(Service, "Headers");
        using var call = _client.ServerStreaming(headers, new EchoRequest(), Bounded with { Headers = [new("x-request-id", "req-42")] });

        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        Assert.Equal("req-42", call.ResponseStream.Current.Text);
        Assert.False(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        Assert.Equal("done", call.GetTrailers()!.GetValues("x-trailer").Single());
    }

    [Fact]
    public async Task Request_over_the_server_limit_is_resource_exhausted()
    {
        var big = new EchoRequest { Payload = ByteString.CopyFrom(new byte[100_000]) };
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(Unary, big, Bounded));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Response_over_the_client_limit_is_resource_exhausted()
    {
        using var strict = new GrpcClient(_server.Address, new GrpcClientOptions { MaxReceiveMessageSize = 1000 });
        var request = new EchoRequest { Payload = ByteString.CopyFrom(new byte[2000]) };

        var error = await Assert.ThrowsAsync<RpcException>(() => strict.UnaryAsync(Unary, request, Bounded));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Refused_connection_is_unavailable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // port now known to be closed

        using var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}"));
        var error = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(Unary, new EchoRequest(), Bounded));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task Non_grpc_http_error_maps_to_grpc_status()
    {
        // An HTTP/2 server with no gRPC endpoints answers 404, which the spec maps to UNIMPLEMENTED.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        await using var app = builder.Build();
        await app.StartAsync(TestContext.Current.CancellationToken);

        using var client = new GrpcClient(new Uri(app.Urls.Single()));
        var error = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(Unary, new EchoRequest(), Bounded));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        await app.StopAsync(TestContext.Current.CancellationToken);
    }
}
