using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using InferServe.Grpc.Tests.Infrastructure;
using InferServe.Grpc.Tests.Interop;
using InferServe.Tests.Fuzzing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferServe.Grpc.Tests.Fuzzing;

/// <summary>
/// Mutated gRPC requests over real HTTP/2 into our server library: length prefixes, compressed flags, truncated and
/// split frames, garbage payloads, header values (content-type, grpc-encoding, grpc-timeout), client resets and, over a
/// raw HTTP/2 connection, request trailers. Every call ends with a proper gRPC status (or 415 for a non-gRPC content
/// type) and never with a handler crash or a hang; the server answers a normal call afterwards.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class GrpcFramingFuzzTests : IAsyncLifetime
{
    private const string Service = "inferserve.fuzz.Echo";
    private const string HandlerCrash = "Exception was thrown by handler.";
    private WebApplication _app = null!;
    private Uri _address = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.Configure<GrpcServerOptions>(o => o.MaxReceiveMessageSize = 4096);
        _app = builder.Build();
        // Echo handlers with no behaviour of their own: whatever fails is the library's framing and status handling.
        _app.MapGrpcUnary<EchoRequest, EchoReply>(Service, "Unary", (request, _) => Task.FromResult(new EchoReply { Text = request.Text }));
        _app.MapGrpcServerStreaming<EchoRequest, EchoReply>(Service, "ServerStream", async (request, responses, ct) =>
        {
            for (int i = 0; i < Math.Clamp(request.Count, 0, 3); i++) await responses.WriteAsync(new EchoReply { Text = request.Text, Index = i }, ct.CancellationToken);
        });
        _app.MapGrpcClientStreaming<EchoRequest, EchoReply>(Service, "ClientStream", async (requests, ctx) =>
        {
            int count = 0;
            await foreach (var _ in requests.ReadAllAsync(ctx.CancellationToken)) count++;
            return new EchoReply { Index = count };
        });
        _app.MapGrpcDuplex<EchoRequest, EchoReply>(Service, "Duplex", async (requests, responses, ctx) =>
        {
            await foreach (var request in requests.ReadAllAsync(ctx.CancellationToken))
                await responses.WriteAsync(new EchoReply { Text = request.Text }, ctx.CancellationToken);
        });
        await _app.StartAsync(TestContext.Current.CancellationToken);
        _address = new Uri(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        _http = new HttpClient
        {
            BaseAddress = _address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public async Task Mutated_grpc_requests_end_with_a_proper_status()
    {
        var run = new FuzzRun("grpc-framing", defaultCases: 1500);
        string[] methods = ["Unary", "ServerStream", "ClientStream", "Duplex", "Missing"];
        string?[] contentTypes = ["application/grpc", "application/grpc", "application/grpc+proto", "application/grpc; charset=utf-8", "application/json", null];
        string?[] encodings = [null, null, "identity", "gzip", "x-unknown", ""];
        string?[] timeouts = [null, null, "1S", "5m", "1n", "abc", "99999999H", "-1S", "123456789S"];

        await run.RunAsync(async (i, r, ct) =>
        {
            var method = methods[r.Next(methods.Length)];
            var body = MutatedBody(r);
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/{Service}/{method}")
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            bool reset = r.Next(10) == 0;
            request.Content = new SplitContent(body, r.Next(1, 64), reset ? r.Next(body.Length + 1) : -1);
            var contentType = contentTypes[r.Next(contentTypes.Length)];
            if (contentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            bool isGrpc = contentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
            if (encodings[r.Next(encodings.Length)] is { } encoding) request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
            if (timeouts[r.Next(timeouts.Length)] is { } timeout) request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
            request.Headers.TryAddWithoutValidation("te", "trailers");
            var input = $"{method} {Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, 64)))} ({body.Length} bytes)";

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            }
            catch (HttpRequestException) when (reset)
            {
                run.Outcome("client reset");
                return;
            }
            catch (HttpRequestException e)
            {
                // The server may answer early (an oversize or bad frame) and reset the request stream while the client
                // is still sending; what matters is that the server goes on serving.
                run.Outcome("request stream ended by the server: " + (e.InnerException?.Message ?? e.Message));
                await AssertServesAsync(ct);
                return;
            }
            using (response)
            {
                var problem = Check(response, isGrpc, out var outcome);
                if (problem is null) run.Outcome(outcome);
                else run.Fail(i, problem, input);
            }
            if (i % 250 == 0) await AssertServesAsync(ct);
        }, parallelism: 4);

        // Request trailers, RST_STREAM mid-body and DATA after trailers need frames HttpClient will not send.
        var raw = new FuzzRun("grpc-raw-http2", defaultCases: 300);
        await raw.RunAsync(async (i, r, ct) =>
        {
            var body = MutatedBody(r);
            await using var connection = await RawHttp2Connection.OpenAsync(_address, ct);
            var outcome = await connection.SendAsync($"/{Service}/{methods[r.Next(methods.Length)]}", body, r, ct);
            raw.Outcome(outcome);
        }, parallelism: 2);

        await AssertServesAsync(TestContext.Current.CancellationToken);
        run.AssertClean();
        raw.AssertClean();
        Assert.True(run.DistinctOutcomes >= 8, $"only {run.DistinctOutcomes} distinct outcomes: {string.Join(" | ", run.Outcomes)}");
    }

    /// <summary>Found by the fuzzer: the longest grpc-timeout the spec allows overflowed DateTime, and the call got HTTP 500.</summary>
    [Fact(Timeout = 60_000)]
    public async Task The_longest_grpc_timeout_is_no_deadline_rather_than_a_500()
    {
        var frame = new byte[5 + 4];
        var payload = new EchoRequest { Text = "ok" }.ToByteArray();
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{Service}/Unary")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("grpc-timeout", "99999999H");
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("0", Header(response, "grpc-status"));
    }

    /// <summary>Valid frames, then mutated: flags, length prefixes, truncation, garbage payloads, extra frames.</summary>
    private static byte[] MutatedBody(Random r)
    {
        var frames = new List<byte>();
        int count = r.Next(5) == 0 ? r.Next(2, 6) : r.Next(2);
        for (int k = 0; k < count; k++)
        {
            var message = new EchoRequest { Text = JsonMutator.RandomString(r), Count = r.Next(4), Payload = ByteString.CopyFrom(new byte[r.Next(4) == 0 ? r.Next(5000) : r.Next(16)]) };
            var payload = message.ToByteArray();
            if (r.Next(6) == 0) payload = ByteMutator.Mutate(r, payload);
            var header = new byte[5];
            header[0] = (byte)(r.Next(8) == 0 ? r.Next(256) : 0);
            uint length = (uint)payload.Length;
            if (r.Next(6) == 0) length = (uint)ByteMutator.InterestingInt(r);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
            frames.AddRange(header);
            frames.AddRange(payload);
        }
        var bytes = frames.ToArray();
        if (bytes.Length > 0 && r.Next(6) == 0) bytes = bytes[..r.Next(bytes.Length)]; // truncated inside a frame
        if (r.Next(10) == 0) bytes = ByteMutator.Mutate(r, bytes);
        return bytes;
    }

    /// <summary>Null when the answer is a proper gRPC outcome; the outcome names the status.</summary>
    private static string? Check(HttpResponseMessage response, bool isGrpc, out string outcome)
    {
        outcome = $"http {(int)response.StatusCode}";
        // Not a gRPC request at all: 415 on a gRPC route, the app's own 404 elsewhere (the catch-all claims only gRPC).
        if (!isGrpc && response.StatusCode is HttpStatusCode.UnsupportedMediaType or HttpStatusCode.NotFound) return null;
        if (response.StatusCode != HttpStatusCode.OK)
            return $"HTTP {(int)response.StatusCode} to a gRPC request: {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()} {response.Headers}";
        var status = Header(response, "grpc-status");
        var message = Uri.UnescapeDataString(Header(response, "grpc-message") ?? "");
        outcome = $"grpc-status {status}: {message}";
        if (status is null) return "no grpc-status";
        if (!int.TryParse(status, out int code) || code is < 0 or > 16) return $"grpc-status '{status}' is not a status code";
        if (message == HandlerCrash || code == (int)StatusCode.Unknown) return $"handler crashed: {status} {message}";
        return null;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.TrailingHeaders.TryGetValues(name, out var t) ? t.FirstOrDefault()
        : response.Headers.TryGetValues(name, out var h) ? h.FirstOrDefault() : null;

    private async Task AssertServesAsync(CancellationToken ct)
    {
        using var client = new GrpcClient(_address);
        var method = new GrpcMethod<EchoRequest, EchoReply>(Service, "Unary");
        var reply = await client.UnaryAsync(method, new EchoRequest { Text = "still here" }, CallOptions.FromTimeout(TimeSpan.FromSeconds(30), ct));
        Assert.Equal("still here", reply.Text);
    }

    /// <summary>A request body written in pieces of <c>chunk</c> bytes with a flush after each; with a reset position, the client aborts there.</summary>
    private sealed class SplitContent(byte[] body, int chunk, int resetAt) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (int offset = 0; offset < body.Length; offset += chunk)
            {
                if (resetAt >= 0 && offset >= resetAt) throw new IOException("client abort (fuzz)");
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(chunk, body.Length - offset)));
                await stream.FlushAsync();
            }
            if (resetAt >= 0) throw new IOException("client abort (fuzz)");
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
