using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace InferServe.Transport;

/// <summary>
/// One Grpc.Net.Client channel to a worker (or the gateway's Registry), reused for every call to it: HTTP/2 with
/// keep-alive pings, large flow-control windows for KV streams, the link's TLS settings and its token.
/// </summary>
public sealed class WorkerChannel : IDisposable
{
    /// <summary>Largest message accepted: a KV chunk is at most 1 MiB, prefill responses are small.</summary>
    public const int MaxReceiveMessageSize = 16 * 1024 * 1024;

    // A KV pull streams megabytes; the default 64 KiB stream window would stall it on every round trip.
    private const int StreamWindowBytes = 8 * 1024 * 1024;

    private readonly GrpcChannel _channel;

    public WorkerChannel(string address, WorkerLinkOptions? options = null)
    {
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(options),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxReceiveMessageSize,
        });
        CallInvoker invoker = _channel.CreateCallInvoker();
        if (options?.Token is { } token)
        {
            invoker = invoker.Intercept(metadata =>
            {
                metadata.Add("authorization", "Bearer " + token);
                return metadata;
            });
        }

        CallInvoker = invoker;
        Worker = new V1.Worker.WorkerClient(invoker);
        Registry = new V1.Registry.RegistryClient(invoker);
    }

    /// <summary>Calls on this channel carrying the link's token: for other services (health) on the same peer.</summary>
    public CallInvoker CallInvoker { get; }

    public V1.Worker.WorkerClient Worker { get; }

    public V1.Registry.RegistryClient Registry { get; }

    /// <summary>
    /// Long-lived streams (Watch, Decode) beside short calls: several connections once one hits the server's stream
    /// limit, pings so idle streams survive middleboxes and a dead peer is noticed.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(WorkerLinkOptions? options)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            InitialHttp2StreamWindowSize = StreamWindowBytes,
        };
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

    public void Dispose() => _channel.Dispose();
}
