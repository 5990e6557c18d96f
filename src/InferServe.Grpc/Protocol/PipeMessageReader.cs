using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>
/// Reads length-prefixed protobuf messages from a <see cref="PipeReader"/>, tolerating any split of
/// frames across reads. Shared by the server (request body) and the client (response body).
/// </summary>
internal sealed class PipeMessageReader<T> : IAsyncStreamReader<T>
    where T : IMessage<T>, new()
{
    private static readonly MessageParser<T> Parser = new(() => new T());

    private readonly PipeReader _reader;
    private readonly int _maxMessageSize;
    private readonly string? _encoding;
    private T? _current;
    private bool _completed;

    public PipeMessageReader(PipeReader reader, int maxMessageSize, string? encoding)
    {
        _reader = reader;
        _maxMessageSize = maxMessageSize;
        _encoding = encoding;
    }

    public T Current => _current ?? throw new InvalidOperationException("No current message; call MoveNextAsync first.");

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        if (_completed)
        {
            return false;
        }

        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var found = false;
            try
            {
                if (GrpcFraming.TryReadMessage(ref buffer, _maxMessageSize, out var payload, out var compressed))
                {
                    consumed = buffer.Start;
                    found = true;
                    if (compressed)
                    {
                        throw CompressedMessageError();
                    }

                    _current = Parse(payload);
                    return true;
                }

                if (result.IsCanceled)
                {
                    throw new OperationCanceledException("The read was canceled.");
                }

                if (result.IsCompleted)
                {
                    if (buffer.Length > 0)
                    {
                        throw new RpcException(StatusCode.Internal, "Incomplete message: stream ended inside a frame.");
                    }

                    _completed = true;
                    return false;
                }
            }
            finally
            {
                // After a message, more may already be buffered: examine only what was consumed.
                // Otherwise everything was examined, so the next ReadAsync waits for more data.
                _reader.AdvanceTo(consumed, found ? consumed : buffer.End);
            }
        }
    }

    private static T Parse(in ReadOnlySequence<byte> payload)
    {
        try
        {
            return Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize message."), ex);
        }
    }

    // Spec: compressed flag with no/identity encoding is a protocol error (INTERNAL);
    // with an encoding we do not implement it is UNIMPLEMENTED.
    private RpcException CompressedMessageError() => GrpcProtocol.IsIdentityEncoding(_encoding)
        ? new RpcException(StatusCode.Internal, "Compressed message received without a grpc-encoding.")
        : new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{_encoding}'; supported: identity.");
}
