using System.Net.Http.Headers;
using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>A call with one request and a stream of responses. Dispose to cancel it early.</summary>
public sealed class ServerStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly GrpcCall<TRequest, TResponse> _call;

    internal ServerStreamingCall(GrpcCall<TRequest, TResponse> call) => _call = call;

    public IAsyncStreamReader<TResponse> ResponseStream => _call;

    public Status GetStatus() => _call.GetStatus();

    public HttpHeaders? GetTrailers() => _call.Trailers;

    public void Dispose() => _call.Dispose();
}

/// <summary>A call with a stream of requests and one response.</summary>
public sealed class ClientStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly GrpcCall<TRequest, TResponse> _call;
    private readonly Lazy<Task<TResponse>> _response;

    internal ClientStreamingCall(GrpcCall<TRequest, TResponse> call, int? maxSendMessageSize)
    {
        _call = call;
        _response = new(call.ReadSingleResponseAsync);
        RequestStream = new ClientStreamWriter<TRequest, TResponse>(call, maxSendMessageSize);
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The single response; started on first access.</summary>
    public Task<TResponse> ResponseAsync => _response.Value;

    public Status GetStatus() => _call.GetStatus();

    public HttpHeaders? GetTrailers() => _call.Trailers;

    public void Dispose() => _call.Dispose();
}

/// <summary>A call with independent request and response streams over one HTTP/2 stream.</summary>
public sealed class DuplexStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly GrpcCall<TRequest, TResponse> _call;

    internal DuplexStreamingCall(GrpcCall<TRequest, TResponse> call, int? maxSendMessageSize)
    {
        _call = call;
        RequestStream = new ClientStreamWriter<TRequest, TResponse>(call, maxSendMessageSize);
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public IAsyncStreamReader<TResponse> ResponseStream => _call;

    public Status GetStatus() => _call.GetStatus();

    public HttpHeaders? GetTrailers() => _call.Trailers;

    public void Dispose() => _call.Dispose();
}
