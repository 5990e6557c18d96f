using System.Net;
using System.Security.Authentication;
using InferServe.Server.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace InferServe.Server;

/// <summary>
/// The listeners: HTTP/1.1 on <see cref="ServerSettings.Port"/>, HTTP/2 for gRPC on <see cref="ServerSettings.GrpcPort"/>.
/// With --tls-cert both serve TLS (the gRPC port negotiates h2 by ALPN); a worker's gRPC port uses the worker-link
/// certificate instead, and asks callers for theirs.
/// </summary>
internal sealed class KestrelEndpoints
{
    private readonly ServerSettings _settings;
    // Parsed now so a bad --max-body-size fails Create, not the first Kestrel start.
    private readonly long _maxBodyBytes;
    private readonly CertificateWithChain? _publicCertificate;
    private readonly WorkerCredentials? _workers;

    public KestrelEndpoints(ServerSettings settings, CertificateWithChain? publicCertificate, WorkerCredentials? workers)
    {
        _settings = settings;
        _maxBodyBytes = settings.MaxBodyBytes;
        _publicCertificate = publicCertificate;
        _workers = workers;
    }

    public int GrpcPort => _settings.GrpcPort;

    /// <summary>"https" when the HTTP port serves TLS.</summary>
    public string HttpScheme => _publicCertificate is null ? "http" : "https";

    private const int ResponseBufferBytes = 4 * 1024 * 1024;

    public void Configure(KestrelServerOptions k)
    {
        k.AddServerHeader = false;
        k.Limits.MaxRequestBodySize = _maxBodyBytes;
        // A KV chunk is 1 MiB: with the default 64 KiB response buffer every chunk's flush waits for the socket, so
        // reading the next chunk from the cache never overlaps sending this one.
        k.Limits.MaxResponseBufferSize = ResponseBufferBytes;
        // Request streams (a gRPC client streaming large messages) need no round trip per 768 KiB either.
        k.Limits.Http2.InitialConnectionWindowSize = 8 * 1024 * 1024;
        k.Limits.Http2.InitialStreamWindowSize = 4 * 1024 * 1024;
        Listen(k, _settings.Host, _settings.Port, HttpProtocols.Http1, Https(_publicCertificate, askClients: false));
        if (_settings.GrpcPort > 0) Listen(k, _settings.Host, _settings.GrpcPort, HttpProtocols.Http2, GrpcHttps());
    }

    /// <summary>
    /// A worker's gRPC port carries the worker links: their certificate. A gateway's also takes worker registrations:
    /// its --tls-cert (or, without one, the worker certificate), asking for client certificates when workers use mutual TLS.
    /// </summary>
    private HttpsConnectionAdapterOptions? GrpcHttps()
    {
        bool mutual = _workers?.UsesTls == true;
        if (_settings.IsWorker) return Https(_workers?.Certificate, askClients: mutual);
        if (_settings.Role == "gateway") return Https(_publicCertificate ?? _workers?.Certificate, askClients: mutual);
        return Https(_publicCertificate, askClients: false);
    }

    private static HttpsConnectionAdapterOptions? Https(CertificateWithChain? certificate, bool askClients) => certificate is null ? null : new()
    {
        ServerCertificate = certificate.Certificate,
        ServerCertificateChain = certificate.Intermediates.Count > 0 ? certificate.Intermediates : null,
        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateMode = askClients ? ClientCertificateMode.AllowCertificate : ClientCertificateMode.NoCertificate,
        // Judged per call against the worker CA (WorkerAuthentication), so a missing or foreign certificate gets a
        // gRPC UNAUTHENTICATED the caller can read, not a failed handshake.
        ClientCertificateValidation = askClients ? (_, _, _) => true : null,
        CheckCertificateRevocation = false,
    };

    /// <summary>Whether the request arrived on the gRPC endpoint; the gateway's middleware leaves those alone.</summary>
    public bool IsGrpcPort(HttpContext ctx) => _settings.GrpcPort > 0 && ctx.Connection.LocalPort == _settings.GrpcPort;

    private static void Listen(KestrelServerOptions k, string host, int port, HttpProtocols protocols, HttpsConnectionAdapterOptions? https)
    {
        Action<ListenOptions> configure = o =>
        {
            o.Protocols = protocols;
            if (https is not null) o.UseHttps(https);
        };
        if (host is "localhost") k.ListenLocalhost(port, configure);
        else if (host is "*" or "+" or "" or "0.0.0.0" or "::") k.ListenAnyIP(port, configure);
        else if (IPAddress.TryParse(host, out var ip)) k.Listen(ip, port, configure);
        else throw new ArgumentException($"--host must be an IP address, localhost or 0.0.0.0; got '{host}'.");
    }
}
