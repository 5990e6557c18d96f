using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>
/// One client call over one HTTP/2 stream: sends the request, reads response headers, messages and trailers,
/// and turns every way a call can end (status, deadline, cancellation, transport failure) into a <see cref="Status"/>.
/// It is also the response stream reader.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IAsyncStreamReader<TResponse>, IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private const string UserAgent = "grpc-inferserve/1.0";

    private readonly GrpcClientOptions _options;
    private readonly CancellationTokenSource _callCts = new();
    private readonly CancellationTokenRegistration _userRegistration;
    private readonly Timer? _deadlineTimer;
    private readonly Task<HttpResponseMessage> _sendTask;
    private HttpResponseMessage? _response;
    private PipeMessageReader<TResponse>? _reader;
    private Status? _status;
    private volatile bool _deadlineExceeded;
    private volatile bool _cancelled;

    public GrpcCall(HttpClient http, Uri uri, GrpcClientOptions options, CallOptions callOptions, GrpcRequestContent content)
    {
        _options = options;
        Content = content;

        TimeSpan? timeout = null;
        if (callOptions.Deadline is { } deadline)
        {
            timeout = deadline.ToUniversalTime() - DateTime.UtcNow;
            if (timeout <= TimeSpan.Zero)
            {
                // Already expired: fail locally without touching the network.
                _deadlineExceeded = true;
                var error = Fail(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));
                _sendTask = Task.FromException<HttpResponseMessage>(error);
                return;
            }

            // Timers only accept ~49 days; longer deadlines are still sent but not enforced locally.
            if (timeout < TimeSpan.FromDays(45))
            {
                _deadlineTimer = new Timer(static s => ((GrpcCall<TRequest, TResponse>)s!).OnDeadline(), this, timeout.Value, Timeout.InfiniteTimeSpan);
            }
        }

        if (callOptions.CancellationToken.CanBeCanceled)
        {
            _userRegistration = callOptions.CancellationToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).Cancel(), this);
        }

        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation("TE", "trailers");
        headers.TryAddWithoutValidation("User-Agent", UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.IdentityEncoding);
        if (timeout is { } t)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(t));
        }

        foreach (var (key, value) in options.Metadata)
        {
            headers.TryAddWithoutValidation(key, value);
        }

        if (callOptions.Headers is { } metadata)
        {
            foreach (var (key, value) in metadata)
            {
                headers.TryAddWithoutValidation(key, value);
            }
        }

        _sendTask = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _callCts.Token);
        _ = _sendTask.ContinueWith(
            static (task, state) => ((GrpcCall<TRequest, TResponse>)state!).OnSendFailed(task.Exception),
            this,
            CancellationToken.None,
            TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    public GrpcRequestContent Content { get; }

    public TResponse Current => _reader is null
        ? throw new InvalidOperationException("No current message; call MoveNextAsync first.")
        : _reader.Current;

    /// <summary>Final status; throws until the call has ended.</summary>
    public Status GetStatus() => _status ?? throw new InvalidOperationException("The call has not finished yet.");

    /// <summary>Response trailers (or headers of a Trailers-Only response) once the call has ended.</summary>
    public HttpHeaders? Trailers { get; private set; }

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken = default)
    {
        if (_status is { } finished)
        {
            return Finish(finished);
        }

        // gRPC semantics: cancelling a read cancels the whole call.
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).Cancel(), this)
            : default;

        var response = await EnsureResponseAsync().ConfigureAwait(false);
        if (_status is { } trailersOnly)
        {
            return Finish(trailersOnly);
        }

        try
        {
            if (_reader is null)
            {
                var body = await response.Content.ReadAsStreamAsync(_callCts.Token).ConfigureAwait(false);
                _reader = new PipeMessageReader<TResponse>(
                    PipeReader.Create(body),
                    _options.MaxReceiveMessageSize,
                    HeaderValue(response.Headers, GrpcProtocol.EncodingHeader));
            }

            if (await _reader.MoveNextAsync(_callCts.Token).ConfigureAwait(false))
            {
                return true;
            }
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }

        // Body ended cleanly: the trailers carry the status.
        Trailers = response.TrailingHeaders;
        var status = ReadStatus(response.TrailingHeaders)
            ?? new Status(StatusCode.Unknown, "No grpc-status found on response.");
        return Finish(status);
    }

    /// <summary>Unary and client-streaming responses: exactly one message, then an OK status.</summary>
    public async Task<TResponse> ReadSingleResponseAsync()
    {
        if (!await MoveNextAsync().ConfigureAwait(false))
        {
            throw Fail(new Status(StatusCode.Internal, "Response did not include a message."));
        }

        var message = Current;
        if (await MoveNextAsync().ConfigureAwait(false))
        {
            throw Fail(new Status(StatusCode.Internal, "Response included more than one message."));
        }

        return message;
    }

    /// <summary>Maps an exception seen while writing the request stream.</summary>
    public Exception WriteFailed(Exception error)
    {
        if (_status is { StatusCode: StatusCode.OK })
        {
            return new InvalidOperationException("Can't write the message because the call is complete.", error);
        }

        return Fail(error);
    }

    public void Cancel()
    {
        _cancelled = true;
        CancelTransport();
    }

    public void Dispose()
    {
        if (_status is null)
        {
            // Still running: the caller gave up on it. Reset the stream so the server sees cancellation.
            Fail(new Status(StatusCode.Cancelled, "Call disposed before completion."));
        }

        _userRegistration.Dispose();
        _deadlineTimer?.Dispose();
        _response?.Dispose();
    }

    private async ValueTask<HttpResponseMessage> EnsureResponseAsync()
    {
        if (_response is not null)
        {
            return _response;
        }

        HttpResponseMessage response;
        try
        {
            response = await _sendTask.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }

        _response = response;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw Fail(new Status(
                GrpcProtocol.FromHttpStatus((int)response.StatusCode),
                $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}"));
        }

        var contentType = response.Content.Headers.ContentType?.ToString();
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            throw Fail(new Status(StatusCode.Unknown, $"Bad gRPC response. Invalid content-type value: {contentType}"));
        }

        if (ReadStatus(response.Headers) is { } status)
        {
            // Trailers-Only response: the status arrived with the headers and there is no body.
            Trailers = response.Headers;
            _status = status;
            Content.Fail(new RpcException(status));
        }

        return response;
    }

    private bool Finish(Status status)
    {
        if (_status is null)
        {
            _status = status;
            Content.Fail(new RpcException(status));
        }

        if (status.StatusCode != StatusCode.OK)
        {
            throw new RpcException(status);
        }

        return false;
    }

    private RpcException Fail(Status status)
    {
        if (_status is null)
        {
            _status = status;
            CancelTransport();
            Content.Fail(new RpcException(status));
        }

        return new RpcException(_status.Value);
    }

    private RpcException Fail(Exception error)
    {
        if (_status is { } known && known.StatusCode != StatusCode.OK)
        {
            return new RpcException(known, error);
        }

        var status = ToStatus(error);
        Fail(status);
        return new RpcException(status, error);
    }

    // Local reasons win: the transport error they cause is only a symptom.
    private Status ToStatus(Exception error)
    {
        if (_deadlineExceeded)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        if (_cancelled)
        {
            return new Status(StatusCode.Cancelled, "Call canceled by the client.");
        }

        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case RpcException rpc:
                    return rpc.Status;
                case HttpProtocolException protocol:
                    return new Status(GrpcProtocol.FromHttp2ErrorCode(protocol.ErrorCode), protocol.Message);
                case InvalidProtocolBufferException:
                    return new Status(StatusCode.Internal, "Failed to deserialize response message.");
            }
        }

        return error switch
        {
            HttpRequestException http => new Status(StatusCode.Unavailable, $"Error starting gRPC call: {http.Message}"),
            OperationCanceledException => new Status(StatusCode.Cancelled, "Call canceled."),
            IOException io => new Status(StatusCode.Unavailable, $"Error reading gRPC response: {io.Message}"),
            _ => new Status(StatusCode.Internal, $"Error in gRPC call: {error.Message}"),
        };
    }

    private void OnDeadline()
    {
        if (_status is null)
        {
            _deadlineExceeded = true;
            CancelTransport();
        }
    }

    private void OnSendFailed(AggregateException? error) =>
        Content.Fail(Fail(error?.InnerException ?? new OperationCanceledException()));

    private void CancelTransport()
    {
        try
        {
            _callCts.Cancel(); // aborts a pending SendAsync and in-flight reads
        }
        catch (ObjectDisposedException)
        {
        }

        // Once headers have arrived, only disposing the unfinished response resets the stream (RST_STREAM CANCEL).
        Volatile.Read(ref _response)?.Dispose();
    }

    private static Status? ReadStatus(HttpHeaders headers)
    {
        var code = HeaderValue(headers, GrpcProtocol.StatusTrailer);
        if (code is null)
        {
            return null;
        }

        if (!int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return new Status(StatusCode.Unknown, $"Unexpected grpc-status value: {code}");
        }

        var message = HeaderValue(headers, GrpcProtocol.MessageTrailer);
        return new Status((StatusCode)value, message is null ? string.Empty : GrpcMessageEncoding.Decode(message));
    }

    private static string? HeaderValue(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;
}
