using Google.Protobuf;
using InferServe.Grpc.Tests.Infrastructure;
using InferServe.Grpc.Tests.Interop;
using static InferServe.Grpc.Tests.Infrastructure.InteropMethods;

namespace InferServe.Grpc.Tests;

/// <summary>Our client against a python3-grpcio server (real process).</summary>
public sealed class PythonServerInteropTests : IAsyncLifetime
{
    private PythonServer? _python;
    private GrpcClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static CallOptions Bounded => CallOptions.FromTimeout(TestTimeout, TestContext.Current.CancellationToken);

    public async ValueTask InitializeAsync()
    {
        PythonPeer.RequireGrpcio();
        _python = await PythonPeer.StartServerAsync();
        _client = new GrpcClient(_python.Address);
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_python is not null)
        {
            await _python.DisposeAsync();
        }
    }

    [Fact]
    public async Task Unary_call_round_trips_unicode_text_binary_payload_and_metadata()
    {
        var payload = ByteString.CopyFrom(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray());
        var reply = await _client.UnaryAsync(
            Unary, new EchoRequest { Text = "héllo", Payload = payload }, Bounded with { Headers = [new("x-suffix", "?")] });

        Assert.Equal("héllo?", reply.Text);
        Assert.Equal(payload, reply.Payload);
    }

    [Fact]
    public async Task Server_streaming_delivers_every_message_then_ok()
    {
        using var call = _client.ServerStreaming(ServerStream, new EchoRequest { Text = "tick", Count = 5 }, Bounded);

        var indexes = new List<int>();
        await foreach (var reply in call.ResponseStream.ReadAllAsync(Ct))
        {
            indexes.Add(reply.Index);
        }

        Assert.Equal([0, 1, 2, 3, 4], indexes);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Deadline_is_sent_as_grpc_timeout_and_ends_the_call_with_deadline_exceeded()
    {
        // A warm connection first, so the deadline cannot run out in the handshake before the handler starts (then
        // no cancellation would ever reach it); the handler waits 60 s, far past the deadline.
        await _client.UnaryAsync(Unary, new EchoRequest { Text = "warm-up" }, CallOptions.FromTimeout(TimeSpan.FromMinutes(1), Ct));
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(
            Unary, new EchoRequest { DelayMs = 60_000 }, CallOptions.FromTimeout(TimeSpan.FromSeconds(2), Ct)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal("Unary", await _python!.NextCancellationAsync());
    }

    [Fact]
    public async Task Cancelling_mid_stream_resets_the_stream_and_python_handler_sees_it()
    {
        using var cts = new CancellationTokenSource();
        using var call = _client.ServerStreaming(
            ServerStream, new EchoRequest { Count = 1000, DelayMs = 20 }, CallOptions.FromTimeout(TestTimeout, cts.Token));

        Assert.True(await call.ResponseStream.MoveNext(Ct));
        Assert.True(await call.ResponseStream.MoveNext(Ct));
        cts.Cancel();

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(Ct).AsTask());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal("ServerStream", await _python!.NextCancellationAsync());
    }

    [Fact]
    public async Task Python_abort_reaches_client_with_code_and_unicode_detail()
    {
        const string detail = "bad input: ünïcödé ✓ 100%";
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(
            Unary, new EchoRequest { Text = detail, StatusCode = (int)StatusCode.InvalidArgument }, Bounded));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(detail, error.Status.Detail);
    }

    [Fact]
    public async Task Unknown_method_is_unimplemented()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(Missing, new EchoRequest(), Bounded));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task Client_streaming_sends_all_requests_and_gets_one_reply()
    {
        using var call = _client.ClientStreaming(ClientStream, Bounded);
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = text }, Ct);
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
        for (var i = 0; i < 3; i++)
        {
            var block = ByteString.CopyFrom(new byte[256 * 1024]); // KV-block sized payloads
            await call.RequestStream.WriteAsync(new EchoRequest { Text = $"m{i}", Payload = block }, Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            Assert.Equal(i, call.ResponseStream.Current.Index);
            Assert.Equal(block.Length, call.ResponseStream.Current.Payload.Length);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(Ct));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }
}
