using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using InferServe.Grpc.Tests.Interop;

namespace InferServe.Grpc.Tests;

/// <summary>Length-prefixed message framing over System.IO.Pipelines.</summary>
public sealed class FramingTests
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Message_split_across_many_reads_is_reassembled()
    {
        var pipe = new Pipe();
        var reader = new PipeMessageReader<EchoRequest>(pipe.Reader, 1024, encoding: null);
        var frame = Frame(new EchoRequest { Text = "split me", Count = 7 });

        var move = reader.MoveNextAsync(Ct);
        foreach (var b in frame)
        {
            Assert.False(move.IsCompleted); // nothing is returned before the last byte
            await pipe.Writer.WriteAsync(new[] { b }, Ct);
        }

        Assert.True(await move);
        Assert.Equal("split me", reader.Current.Text);
        Assert.Equal(7, reader.Current.Count);
    }

    [Fact]
    public async Task Several_messages_in_one_read_are_all_returned_without_waiting_for_more_data()
    {
        var pipe = new Pipe();
        var reader = new PipeMessageReader<EchoRequest>(pipe.Reader, 1024, encoding: null);
        await pipe.Writer.WriteAsync(Frame(new EchoRequest { Text = "a" }).Concat(Frame(new EchoRequest { Text = "b" })).ToArray(), Ct);

        Assert.True(await reader.MoveNextAsync(Ct));
        Assert.Equal("a", reader.Current.Text);
        Assert.True(await reader.MoveNextAsync(Ct).AsTask().WaitAsync(InferServe.Tests.Shared.Eventually.Generous, Ct)); // the event, bounded only against a hang
        Assert.Equal("b", reader.Current.Text);

        await pipe.Writer.CompleteAsync();
        Assert.False(await reader.MoveNextAsync(Ct));
    }

    [Fact]
    public async Task Zero_length_message_is_a_default_instance()
    {
        var frame = Frame(new EchoRequest());
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0 }, frame);

        var reader = ReaderOver(frame);
        Assert.True(await reader.MoveNextAsync(Ct));
        Assert.Equal(new EchoRequest(), reader.Current);
        Assert.False(await reader.MoveNextAsync(Ct));
    }

    [Fact]
    public async Task Oversize_message_is_rejected_with_resource_exhausted_as_soon_as_its_header_arrives()
    {
        var pipe = new Pipe();
        var reader = new PipeMessageReader<EchoRequest>(pipe.Reader, maxMessageSize: 100, encoding: null);
        var header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), 101);
        await pipe.Writer.WriteAsync(header, Ct); // payload never sent

        var error = await Assert.ThrowsAsync<RpcException>(() => reader.MoveNextAsync(Ct).AsTask());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Message_of_exactly_the_maximum_size_is_accepted()
    {
        var message = new EchoRequest { Payload = ByteString.CopyFrom(new byte[98]) }; // 1 tag + 1 length + 98
        Assert.Equal(100, message.CalculateSize());

        var reader = ReaderOver(Frame(message), maxMessageSize: 100);
        Assert.True(await reader.MoveNextAsync(Ct));
        Assert.Equal(98, reader.Current.Payload.Length);
    }

    [Theory]
    [InlineData(null, StatusCode.Internal)]
    [InlineData("identity", StatusCode.Internal)]
    [InlineData("gzip", StatusCode.Unimplemented)]
    public async Task Compressed_flag_without_a_supported_encoding_is_rejected(string? encoding, StatusCode expected)
    {
        var frame = Frame(new EchoRequest { Text = "x" });
        frame[0] = 1;

        var reader = ReaderOver(frame, encoding: encoding);
        var error = await Assert.ThrowsAsync<RpcException>(() => reader.MoveNextAsync(Ct).AsTask());
        Assert.Equal(expected, error.StatusCode);
    }

    [Fact]
    public async Task Stream_ending_inside_a_frame_is_an_internal_error()
    {
        var frame = Frame(new EchoRequest { Text = "truncated" });
        var reader = ReaderOver(frame[..^2]);

        var error = await Assert.ThrowsAsync<RpcException>(() => reader.MoveNextAsync(Ct).AsTask());
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task Large_message_is_written_in_chunks_and_round_trips()
    {
        var payload = new byte[1_000_000];
        new Random(42).NextBytes(payload);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var written = GrpcFraming.WriteMessage(pipe.Writer, new EchoRequest { Payload = ByteString.CopyFrom(payload) });
        await pipe.Writer.FlushAsync(Ct);
        await pipe.Writer.CompleteAsync();

        var reader = new PipeMessageReader<EchoRequest>(pipe.Reader, 2_000_000, encoding: null);
        Assert.True(await reader.MoveNextAsync(Ct));
        Assert.Equal(payload, reader.Current.Payload.ToByteArray());
        Assert.Equal(written, 5 + reader.Current.CalculateSize());
    }

    [Fact]
    public void Writing_a_message_over_the_send_limit_fails_with_resource_exhausted()
    {
        var error = Assert.Throws<RpcException>(() =>
            GrpcFraming.WriteMessage(new Pipe().Writer, new EchoRequest { Text = new string('x', 50) }, maxMessageSize: 10));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    private static byte[] Frame(IMessage message)
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        GrpcFraming.WriteMessage(writer, message);
        return writer.WrittenSpan.ToArray();
    }

    private static PipeMessageReader<EchoRequest> ReaderOver(byte[] bytes, int maxMessageSize = 1024, string? encoding = null) =>
        new(PipeReader.Create(new MemoryStream(bytes)), maxMessageSize, encoding);
}
