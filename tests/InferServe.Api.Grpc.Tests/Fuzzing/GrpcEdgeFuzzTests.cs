using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using InferServe.Api.Grpc.Tests.Infrastructure;
using InferServe.Api.Grpc.V1;
using InferServe.TestSupport;
using InferServe.TestSupport.Fuzzing;

namespace InferServe.Api.Grpc.Tests.Fuzzing;

/// <summary>
/// The edge of the gRPC stack (Grpc.AspNetCore on Kestrel) serving inferserve.v1.Inference: malformed frames over
/// HTTP/2 (truncated length prefixes, lengths past the message limit, bad compressed flags, garbage protobuf,
/// unknown methods, request trailers and resets on raw frames). Each call ends with a gRPC status, never a crash,
/// a hang or an HTTP 500; the server answers a good call afterwards.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class GrpcEdgeFuzzTests : IAsyncLifetime
{
    private const string Service = "inferserve.v1.Inference";
    private const string HandlerCrash = "Exception was thrown by handler.";
    private ApiServer _server = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ApiServer.StartAsync(TestEngine.Engine);
        _http = new HttpClient
        {
            BaseAddress = _server.Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    public static TheoryData<string, string, byte[], StatusCode> Malformed => new()
    {
        { "truncated length prefix", "GetModelInfo", [0, 0, 0], StatusCode.Internal },
        { "length beyond the message limit", "GetModelInfo", Frame(0, uint.MaxValue - 1, []), StatusCode.ResourceExhausted },
        { "length past the end of the body", "Complete", Frame(0, 100, [1, 2, 3]), StatusCode.Internal },
        { "compressed flag without grpc-encoding", "GetModelInfo", Frame(1, 0, []), StatusCode.Internal },
        { "compressed flag 7", "GetModelInfo", Frame(7, 0, []), StatusCode.Internal },
        { "garbage protobuf", "Complete", Frame(0, 4, [0xFF, 0xFF, 0xFF, 0xFF]), StatusCode.Internal },
        { "garbage protobuf on a stream", "Generate", Frame(0, 3, [0x0A, 0x7F, 0x00]), StatusCode.Internal },
        { "no message", "Complete", [], StatusCode.Internal },
        { "two messages to a unary method", "GetModelInfo", [.. Frame(0, 0, []), .. Frame(0, 0, [])], StatusCode.Internal },
        { "unknown method", "Missing", Frame(0, 0, []), StatusCode.Unimplemented },
        { "valid frame, bad request", "Complete", Frame(0, null, new GenerateRequest { Text = "hi", MaxTokens = -5 }.ToByteArray()), StatusCode.InvalidArgument },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Malformed))]
    public async Task A_malformed_call_gets_a_grpc_status_and_the_server_still_serves(string name, string method, byte[] body, StatusCode expected)
    {
        var ct = TestContext.Current.CancellationToken;
        using var request = GrpcRequest(method, body);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);

        Assert.True(Check(response, isGrpc: true, out var outcome) is null, $"{name}: {outcome}");
        Assert.Equal(((int)expected).ToString(), Header(response, "grpc-status"));
        await AssertServesAsync(ct);
    }

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public async Task Mutated_grpc_requests_end_with_a_proper_status()
    {
        var run = new FuzzRun("grpc-edge", defaultCases: 400);
        string[] methods = ["GetModelInfo", "Complete", "Generate", "Missing"];
        string?[] contentTypes = ["application/grpc", "application/grpc", "application/grpc+proto", "application/json", null];
        string?[] encodings = [null, null, "identity", "gzip", "x-unknown", ""];
        string?[] timeouts = [null, null, "1S", "5m", "1n", "abc", "99999999H", "-1S", "123456789S"];

        await run.RunAsync(async (i, r, ct) =>
        {
            var method = methods[r.Next(methods.Length)];
            var body = MutatedBody(r);
            using var request = GrpcRequest(method, body);
            var contentType = contentTypes[r.Next(contentTypes.Length)];
            request.Content!.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
            bool isGrpc = contentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
            if (encodings[r.Next(encodings.Length)] is { } encoding) request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
            if (timeouts[r.Next(timeouts.Length)] is { } timeout) request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
            var input = $"{method} {Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, 64)))} ({body.Length} bytes)";
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            }
            catch (HttpRequestException e)
            {
                // The server may answer early (an oversize frame) and reset the request stream while the client still sends.
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
            if (i % 100 == 0) await AssertServesAsync(ct);
        }, parallelism: 2);

        // Request trailers, RST_STREAM mid-body and DATA after trailers need frames HttpClient will not send.
        var raw = new FuzzRun("grpc-edge-raw-http2", defaultCases: 150);
        await raw.RunAsync(async (i, r, ct) =>
        {
            await using var connection = await RawHttp2Connection.OpenAsync(_server.Address, ct);
            raw.Outcome(await connection.SendAsync($"/{Service}/{methods[r.Next(methods.Length)]}", MutatedBody(r), r, ct));
        }, parallelism: 2);

        await AssertServesAsync(TestContext.Current.CancellationToken);
        run.AssertClean();
        raw.AssertClean();
        Assert.True(run.DistinctOutcomes >= 6, $"only {run.DistinctOutcomes} distinct outcomes: {string.Join(" | ", run.Outcomes)}");
    }

    private static HttpRequestMessage GrpcRequest(string method, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/{Service}/{method}")
        {
            Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    /// <summary>A length-prefixed message; <paramref name="length"/> null declares the payload's own length.</summary>
    private static byte[] Frame(byte flag, uint? length, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), length ?? (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Valid frames of small requests, then mutated: flags, length prefixes, truncation, garbage payloads, extra frames.</summary>
    private static byte[] MutatedBody(Random r)
    {
        var frames = new List<byte>();
        int count = r.Next(5) == 0 ? r.Next(2, 6) : r.Next(2);
        for (int k = 0; k < count; k++)
        {
            var message = new GenerateRequest { Text = JsonMutator.RandomString(r), MaxTokens = r.Next(1, 3), Temperature = 0 };
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
        // Not a gRPC request at all: 415 on a gRPC route, 404 where no route matches.
        if (!isGrpc && response.StatusCode is HttpStatusCode.UnsupportedMediaType or HttpStatusCode.NotFound) return null;
        if (response.StatusCode != HttpStatusCode.OK)
            return $"HTTP {(int)response.StatusCode} to a gRPC request: {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()} {response.Headers}";
        var status = Header(response, "grpc-status");
        var message = Uri.UnescapeDataString(Header(response, "grpc-message") ?? "");
        outcome = $"grpc-status {status}: {message}";
        if (status is null) return "no grpc-status";
        if (!int.TryParse(status, out int code) || code is < 0 or > 16) return $"grpc-status '{status}' is not a status code";
        if (message == HandlerCrash || code == (int)StatusCode.Unknown) return $"handler crashed: {status} {message}";
        if (message.Contains("   at ", StringComparison.Ordinal)) return "a stack trace reached the client: " + message;
        return null;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.TrailingHeaders.TryGetValues(name, out var t) ? t.FirstOrDefault()
        : response.Headers.TryGetValues(name, out var h) ? h.FirstOrDefault() : null;

    private async Task AssertServesAsync(CancellationToken ct)
    {
        var info = await _server.Client.GetModelInfoAsync(new ModelInfoRequest(), GrpcCalls.Within(TimeSpan.FromSeconds(30), ct));
        Assert.Equal(ApiServer.ModelName, info.Id);
    }
}
