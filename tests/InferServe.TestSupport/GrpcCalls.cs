using Grpc.Core;
using Grpc.Net.Client;

namespace InferServe.TestSupport;

/// <summary>Grpc.Net.Client channels and call options for the tests: h2c (or https with a caller's handler), bounded calls.</summary>
public static class GrpcCalls
{
    /// <summary>A channel to <paramref name="address"/>; dispose it with the test.</summary>
    public static GrpcChannel Channel(string address, HttpMessageHandler? handler = null) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler ?? new SocketsHttpHandler(), DisposeHttpClient = true });

    public static GrpcChannel Channel(Uri address, HttpMessageHandler? handler = null) => Channel(address.ToString(), handler);

    /// <summary>A call that ends with DEADLINE_EXCEEDED after <paramref name="timeout"/>, or CANCELLED with <paramref name="ct"/>.</summary>
    public static CallOptions Within(TimeSpan timeout, CancellationToken ct = default) => new(deadline: DateTime.UtcNow + timeout, cancellationToken: ct);

    /// <summary>A call carrying <c>authorization: Bearer KEY</c>.</summary>
    public static CallOptions WithKey(string key, CancellationToken ct = default) => new(new Metadata { { "authorization", "Bearer " + key } }, cancellationToken: ct);
}
