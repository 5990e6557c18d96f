using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace InferServe.Server;

/// <summary>The gateway's listeners: HTTP/1.1 on <see cref="ServerSettings.Port"/>, h2c for gRPC on <see cref="ServerSettings.GrpcPort"/>.</summary>
internal sealed class KestrelEndpoints(ServerSettings settings)
{
    // Parsed now so a bad --max-body-size fails Create, not the first Kestrel start.
    private readonly long _maxBodyBytes = settings.MaxBodyBytes;

    public int GrpcPort => settings.GrpcPort;

    public void Configure(KestrelServerOptions k)
    {
        k.AddServerHeader = false;
        k.Limits.MaxRequestBodySize = _maxBodyBytes;
        Listen(k, settings.Host, settings.Port, HttpProtocols.Http1);
        if (settings.GrpcPort > 0) Listen(k, settings.Host, settings.GrpcPort, HttpProtocols.Http2);
    }

    /// <summary>Whether the request arrived on the gRPC (h2c) endpoint; the gateway's middleware leaves those alone.</summary>
    public bool IsGrpcPort(HttpContext ctx) => settings.GrpcPort > 0 && ctx.Connection.LocalPort == settings.GrpcPort;

    private static void Listen(KestrelServerOptions k, string host, int port, HttpProtocols protocols)
    {
        Action<ListenOptions> configure = o => o.Protocols = protocols;
        if (host is "localhost") k.ListenLocalhost(port, configure);
        else if (host is "*" or "+" or "" or "0.0.0.0" or "::") k.ListenAnyIP(port, configure);
        else if (IPAddress.TryParse(host, out var ip)) k.Listen(ip, port, configure);
        else throw new ArgumentException($"--host must be an IP address, localhost or 0.0.0.0; got '{host}'.");
    }
}
