using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>
/// Length-Prefixed-Message framing: 1-byte compressed flag, 4-byte big-endian length, payload.
/// </summary>
public static class GrpcFraming
{
    public const int HeaderLength = 5;

    // Above this, serialize through IBufferWriter in chunks instead of asking for one huge contiguous span.
    private const int ContiguousWriteLimit = 64 * 1024;

    /// <summary>
    /// Slices one complete message off the front of <paramref name="buffer"/>. Returns false (buffer untouched)
    /// while the message is incomplete. The size limit is checked as soon as the header is visible,
    /// so an oversize message is rejected before it is buffered.
    /// </summary>
    /// <exception cref="RpcException">RESOURCE_EXHAUSTED when the declared length exceeds <paramref name="maxMessageSize"/>;
    /// INTERNAL for a compressed flag other than 0 or 1.</exception>
    public static bool TryReadMessage(
        ref ReadOnlySequence<byte> buffer, int maxMessageSize, out ReadOnlySequence<byte> payload, out bool compressed)
    {
        payload = default;
        compressed = false;
        if (buffer.Length < HeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        if (header[0] > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Invalid compressed flag {header[0]} in message header.");
        }

        long length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > maxMessageSize)
        {
            throw new RpcException(
                StatusCode.ResourceExhausted,
                $"Received message exceeds the maximum configured message size ({length} > {maxMessageSize}).");
        }

        if (buffer.Length - HeaderLength < length)
        {
            return false;
        }

        compressed = header[0] == 1;
        payload = buffer.Slice(HeaderLength, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>Serializes one uncompressed message straight into the writer's buffer (no intermediate array).</summary>
    /// <exception cref="RpcException">RESOURCE_EXHAUSTED when the message exceeds <paramref name="maxMessageSize"/>.</exception>
    public static int WriteMessage(IBufferWriter<byte> writer, IMessage message, int? maxMessageSize = null)
    {
        var size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            throw new RpcException(
                StatusCode.ResourceExhausted,
                $"Sending message exceeds the maximum configured message size ({size} > {maxMessageSize}).");
        }

        if (size <= ContiguousWriteLimit)
        {
            var span = writer.GetSpan(HeaderLength + size);
            WriteHeader(span, size);
            message.WriteTo(span.Slice(HeaderLength, size));
            writer.Advance(HeaderLength + size);
        }
        else
        {
            WriteHeader(writer.GetSpan(HeaderLength), size);
            writer.Advance(HeaderLength);
            message.WriteTo(writer);
        }

        return HeaderLength + size;
    }

    private static void WriteHeader(Span<byte> destination, int size)
    {
        destination[0] = 0; // never compressed: we only speak identity
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)size);
    }
}
