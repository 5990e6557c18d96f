using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>
/// gRPC client over <see cref="HttpClient"/> with HTTP/2 prior knowledge (h2c for http://, ALPN for https://).
/// Thread-safe; share one instance per target.
/// </summary>
public sealed class GrpcClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttpClient;
    private readonly GrpcClientOptions _options;

    /// <summary>Creates a client with its own connection pool (<see cref="CreateDefaultHandler(GrpcClientOptions?)"/>).</summary>
    public GrpcClient(Uri address, GrpcClientOptions? options = null)
        : this(new HttpClient(CreateDefaultHandler(options), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan }, address, options)
    {
        _ownsHttpClient = true;
    }

    /// <summary>Uses a caller-owned client; its Timeout should be infinite (deadlines are per call).</summary>
    public GrpcClient(HttpClient httpClient, Uri address, GrpcClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(address);
        _http = httpClient;
        Address = address;
        _options = options ?? new GrpcClientOptions();
    }

    public Uri Address { get; }

    /// <summary>
    /// HTTP/2 handler suited to long-lived streams: several connections once one hits the server's stream limit,
    /// keep-alive pings so idle streams survive middleboxes.
    /// </summary>
    public static SocketsHttpHandler CreateDefaultHandler() => new()
    {
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        KeepAlivePingDelay = TimeSpan.FromSeconds(60),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>The default handler with the TLS settings of <paramref name="options"/> (client certificate, private CA).</summary>
    public static SocketsHttpHandler CreateDefaultHandler(GrpcClientOptions? options)
    {
        var handler = CreateDefaultHandler();
        if (options is null || (options.ClientCertificate is null && options.TrustedRoots is null)) return handler;
        var ssl = new SslClientAuthenticationOptions();
        if (options.ClientCertificate is { } certificate)
        {
            ssl.ClientCertificates = new X509CertificateCollection { certificate };
            // Offer it whatever CA names the server lists: the server checks the chain itself.
            ssl.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }
        if (options.TrustedRoots is { } roots) ssl.RemoteCertificateValidationCallback = CertificateTrust.ServerValidator(roots, options.AlsoTrustSystemRoots);
        handler.SslOptions = ssl;
        return handler;
    }

    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = Start(method, SingleMessageContent(request), options);
        return await call.ReadSingleResponseAsync().ConfigureAwait(false);
    }

    public ServerStreamingCall<TRequest, TResponse> ServerStreaming<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(Start(method, SingleMessageContent(request), options));

    public ClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(Start(method, GrpcRequestContent.ForStream(), options), _options.MaxSendMessageSize);

    public DuplexStreamingCall<TRequest, TResponse> Duplex<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(Start(method, GrpcRequestContent.ForStream(), options), _options.MaxSendMessageSize);

    public void Dispose()
    {
        if (_ownsHttpClient)
        {
            _http.Dispose();
        }
    }

    private GrpcRequestContent SingleMessageContent(IMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var size = request.CalculateSize();
        if (size > _options.MaxSendMessageSize)
        {
            throw new RpcException(
                StatusCode.ResourceExhausted,
                $"Sending message exceeds the maximum configured message size ({size} > {_options.MaxSendMessageSize}).");
        }

        return GrpcRequestContent.ForMessage(request);
    }

    private GrpcCall<TRequest, TResponse> Start<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method, GrpcRequestContent content, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        new(_http, new Uri(Address, method.Path), _options, options, content);
}
