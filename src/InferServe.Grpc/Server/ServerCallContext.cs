using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace InferServe.Grpc;

/// <summary>
/// Per-call state visible to a handler: deadline, cancellation, metadata and the status to send.
/// </summary>
public sealed class ServerCallContext : IDisposable
{
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly CancellationTokenSource? _linkedCts;
    private Dictionary<string, string>? _responseTrailers;

    internal ServerCallContext(HttpContext httpContext, string method, GrpcServerOptions options, TimeSpan? timeout)
    {
        HttpContext = httpContext;
        Method = method;
        Options = options;
        if (timeout is { } t)
        {
            // grpc-timeout allows up to 99999999 hours, past DateTime's range: such a deadline is "never".
            var now = DateTime.UtcNow;
            Deadline = t < DateTime.MaxValue - now ? now + t : DateTime.MaxValue;
            // CancelAfter only accepts up to ~49 days; anything longer is effectively no deadline.
            _deadlineCts = t < TimeSpan.FromDays(45) ? new CancellationTokenSource(t) : new CancellationTokenSource();
            _linkedCts = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, _deadlineCts.Token);
            CancellationToken = _linkedCts.Token;
        }
        else
        {
            Deadline = DateTime.MaxValue;
            CancellationToken = httpContext.RequestAborted;
        }
    }

    public HttpContext HttpContext { get; }

    /// <summary>Full method path, e.g. <c>/pkg.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>UTC deadline from grpc-timeout; <see cref="DateTime.MaxValue"/> when the client set none.</summary>
    public DateTime Deadline { get; }

    /// <summary>Cancelled when the client resets the stream or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    public string Peer => $"{HttpContext.Connection.RemoteIpAddress}:{HttpContext.Connection.RemotePort}";

    /// <summary>Request metadata (HTTP/2 headers, including custom ones).</summary>
    public IHeaderDictionary RequestHeaders => HttpContext.Request.Headers;

    /// <summary>Response metadata; only effective before the first response message is flushed.</summary>
    public IHeaderDictionary ResponseHeaders => HttpContext.Response.Headers;

    /// <summary>Custom trailers sent alongside grpc-status.</summary>
    public IDictionary<string, string> ResponseTrailers => _responseTrailers ??= new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Status sent when the handler returns normally; throw <see cref="RpcException"/> instead to abort.</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    internal GrpcServerOptions Options { get; }

    internal bool DeadlineExceeded => _deadlineCts?.IsCancellationRequested == true && !HttpContext.RequestAborted.IsCancellationRequested;

    internal bool MessagesWritten { get; private set; }

    internal void WriteMessage(IMessage message)
    {
        GrpcFraming.WriteMessage(HttpContext.Response.BodyWriter, message, Options.MaxSendMessageSize);
        MessagesWritten = true;
    }

    internal IEnumerable<KeyValuePair<string, string>> CustomTrailers =>
        _responseTrailers ?? Enumerable.Empty<KeyValuePair<string, string>>();

    public void Dispose()
    {
        _linkedCts?.Dispose();
        _deadlineCts?.Dispose();
    }
}
