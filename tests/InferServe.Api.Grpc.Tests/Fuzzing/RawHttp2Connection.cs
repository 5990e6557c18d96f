using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace InferServe.Api.Grpc.Tests.Fuzzing;

/// <summary>
/// A minimal HTTP/2 client over a socket, for the frames HttpClient never sends: request trailers (some malformed),
/// RST_STREAM in the middle of a body, DATA after trailers. It writes one stream and reads until that stream ends.
/// HPACK: literal fields without indexing, no Huffman coding (responses are only classified, not decoded).
/// </summary>
internal sealed class RawHttp2Connection : IAsyncDisposable
{
    private const byte Data = 0, Headers = 1, RstStream = 3, Settings = 4, Ping = 6, GoAway = 7;
    private const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawHttp2Connection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawHttp2Connection> OpenAsync(Uri address, CancellationToken ct)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, ct);
        var connection = new RawHttp2Connection(tcp);
        await connection._stream.WriteAsync(Preface, ct);
        await connection.WriteFrameAsync(Settings, 0, 0, [], ct);
        return connection;
    }

    /// <summary>Sends one request on stream 1 in a random way and returns how the server ended it.</summary>
    public async Task<string> SendAsync(string path, byte[] body, Random r, CancellationToken ct)
    {
        var headers = new MemoryStream();
        foreach (var (name, value) in new[] { (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
                     ("content-type", "application/grpc"), ("te", "trailers") })
        {
            Literal(headers, name, value);
        }

        await WriteFrameAsync(Headers, EndHeaders, 1, headers.ToArray(), ct);

        int scenario = r.Next(5);
        int sent = scenario == 2 ? r.Next(body.Length + 1) : body.Length;
        for (int offset = 0; offset < sent;)
        {
            int len = Math.Min(sent - offset, r.Next(1, 2048));
            bool last = offset + len == sent && scenario == 0;
            await WriteFrameAsync(Data, last ? EndStream : (byte)0, 1, body.AsSpan(offset, len).ToArray(), ct);
            offset += len;
        }
        switch (scenario)
        {
            case 0 when sent == 0: await WriteFrameAsync(Data, EndStream, 1, [], ct); break;
            case 1 or 3: // request trailers, sometimes malformed, sometimes followed by more DATA (a protocol error)
                {
                    var trailers = new MemoryStream();
                    string[] names = ["x-fuzz", "grpc-status", "grpc-message", "content-length", ":path", "te", "x-" + r.Next(1000), "UPPER"];
                    int n = r.Next(4);
                    for (int k = 0; k < n; k++) Literal(trailers, names[r.Next(names.Length)], new string((char)r.Next(0x20, 0x7f), r.Next(0, 40)));
                    await WriteFrameAsync(Headers, EndHeaders | EndStream, 1, trailers.ToArray(), ct);
                    if (scenario == 3) await WriteFrameAsync(Data, EndStream, 1, [0, 0, 0, 0, 0], ct);
                    break;
                }
            case 2: // the client gives up mid-body
                await WriteFrameAsync(RstStream, 0, 1, [0, 0, 0, 8], ct);
                return await PingAsync(ct) ? "client reset; connection alive" : "client reset; connection closed";
            case 4: break; // body never ends: the server must still answer for the unary methods or wait for the client
        }
        if (scenario == 4)
        {
            await WriteFrameAsync(RstStream, 0, 1, [0, 0, 0, 8], ct);
            return await PingAsync(ct) ? "open body reset; connection alive" : "open body reset; connection closed";
        }
        return await ReadUntilStreamEndsAsync(ct);
    }

    private async Task<string> ReadUntilStreamEndsAsync(CancellationToken ct)
    {
        var header = new byte[9];
        while (true)
        {
            if (!await ReadExactlyAsync(header, ct)) return "connection closed";
            int length = (header[0] << 16) | (header[1] << 8) | header[2];
            byte type = header[3], flags = header[4];
            int stream = (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7fffffff);
            var payload = new byte[length];
            if (!await ReadExactlyAsync(payload, ct)) return "connection closed";
            switch (type)
            {
                case Settings when (flags & Ack) == 0: await WriteFrameAsync(Settings, Ack, 0, [], ct); break;
                case Ping when (flags & Ack) == 0: await WriteFrameAsync(Ping, Ack, 0, payload, ct); break;
                case GoAway: return "goaway";
                case RstStream when stream == 1: return "stream reset by server";
                case Headers or Data when stream == 1 && (flags & EndStream) != 0: return type == Headers ? "ended with trailers" : "ended with data";
            }
        }
    }

    /// <summary>Whether the connection still answers a PING (after the stream was reset).</summary>
    private async Task<bool> PingAsync(CancellationToken ct)
    {
        await WriteFrameAsync(Ping, 0, 0, new byte[8], ct);
        var header = new byte[9];
        while (true)
        {
            if (!await ReadExactlyAsync(header, ct)) return false;
            int length = (header[0] << 16) | (header[1] << 8) | header[2];
            var payload = new byte[length];
            if (!await ReadExactlyAsync(payload, ct)) return false;
            if (header[3] == Ping && (header[4] & Ack) != 0) return true;
            if (header[3] == Settings && (header[4] & Ack) == 0) await WriteFrameAsync(Settings, Ack, 0, [], ct);
            if (header[3] == GoAway) return false;
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken ct)
    {
        try
        {
            await _stream.ReadExactlyAsync(buffer, ct);
            return true;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            return false;
        }
    }

    private async Task WriteFrameAsync(byte type, byte flags, int stream, byte[] payload, CancellationToken ct)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        try
        {
            await _stream.WriteAsync(frame, ct);
        }
        catch (IOException)
        {
            // The server may close the connection on a protocol error; the read that follows reports it.
        }
    }

    /// <summary>HPACK literal header field without indexing, new name, no Huffman coding.</summary>
    private static void Literal(MemoryStream into, string name, string value)
    {
        into.WriteByte(0);
        String(into, name);
        String(into, value);
    }

    private static void String(MemoryStream into, string s)
    {
        var bytes = Encoding.ASCII.GetBytes(s);
        int length = bytes.Length;
        if (length < 127)
        {
            into.WriteByte((byte)length);
        }
        else
        {
            into.WriteByte(127);
            length -= 127;
            while (length >= 128)
            {
                into.WriteByte((byte)(length % 128 + 128));
                length /= 128;
            }
            into.WriteByte((byte)length);
        }
        into.Write(bytes);
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
