using InferServe.Grpc.Tests.Infrastructure;

namespace InferServe.Grpc.Tests;

/// <summary>python3-grpcio client (real process) against our Kestrel server.</summary>
public sealed class PythonClientInteropTests : IAsyncLifetime
{
    private InteropServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        PythonPeer.RequireGrpcio();
        _server = await InteropServer.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Unary_call_round_trips_unicode_text_binary_payload_and_metadata()
    {
        var result = await PythonPeer.RunClientAsync(_server.Target, "unary");

        Assert.Equal("OK", result.GetProperty("code").GetString());
        Assert.Equal("héllo wörld!", result.GetProperty("text").GetString());
        Assert.True(result.GetProperty("payload_ok").GetBoolean());
    }

    [Fact]
    public async Task Server_streaming_delivers_every_message()
    {
        var result = await PythonPeer.RunClientAsync(_server.Target, "server_stream");

        Assert.Equal("OK", result.GetProperty("code").GetString());
        Assert.Equal([0, 1, 2, 3, 4], result.GetProperty("indexes").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task Python_timeout_becomes_a_server_deadline_that_cancels_the_handler()
    {
        var result = await PythonPeer.RunClientAsync(_server.Target, "deadline");

        Assert.Equal("DEADLINE_EXCEEDED", result.GetProperty("code").GetString());
        Assert.Equal("Unary", await _server.NextCancellationAsync());
    }

    [Fact]
    public async Task Python_cancelling_a_stream_mid_way_cancels_the_handler()
    {
        var result = await PythonPeer.RunClientAsync(_server.Target, "cancel");

        Assert.Equal("CANCELLED", result.GetProperty("code").GetString());
        Assert.Equal(2, result.GetProperty("received").GetInt32());
        Assert.Equal("ServerStream", await _server.NextCancellationAsync());
    }

    [Fact]
    public async Task Rpc_exception_reaches_python_with_code_and_unicode_detail()
    {
        var result = await PythonPeer.RunClientAsync(_server.Target, "error");

        Assert.Equal("INVALID_ARGUMENT", result.GetProperty("code").GetString());
        Assert.Equal("bad input: ünïcödé ✓ 100%", result.GetProperty("details").GetString());
    }

    [Fact]
    public async Task Unknown_method_is_unimplemented_for_python()
    {
        var result = await PythonPeer.RunClientAsync(_server.Target, "unimplemented");
        Assert.Equal("UNIMPLEMENTED", result.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Duplex_streaming_works_with_python()
    {
        var result = await PythonPeer.RunClientAsync(_server.Target, "duplex");

        Assert.Equal("OK", result.GetProperty("code").GetString());
        Assert.Equal(["a", "b", "c"], result.GetProperty("texts").EnumerateArray().Select(e => e.GetString()));
    }
}
