using System.Globalization;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferServe.Grpc;

/// <summary>
/// Runs one gRPC call on Kestrel: validates the request, builds the <see cref="ServerCallContext"/>,
/// invokes the handler body and turns its outcome into grpc-status (trailers, or Trailers-Only).
/// </summary>
internal static class ServerCallHandler
{
    private static readonly GrpcServerOptions DefaultOptions = new();

    public static async Task RunAsync(
        HttpContext http, string method, bool streamingRequest, Func<ServerCallContext, Task> body)
    {
        if (!await ValidateRequestAsync(http).ConfigureAwait(false))
        {
            return;
        }

        PrepareResponse(http, streamingRequest);
        var options = http.RequestServices.GetService<IOptions<GrpcServerOptions>>()?.Value ?? DefaultOptions;
        var logger = http.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("InferServe.Grpc.Server");

        TimeSpan? timeout = null;
        var timeoutHeader = http.Request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader.Count > 0)
        {
            if (GrpcTimeout.TryParse(timeoutHeader.ToString(), out var parsed))
            {
                timeout = parsed;
            }
            else
            {
                logger?.LogDebug("Ignoring invalid grpc-timeout '{Timeout}' on {Method}.", timeoutHeader.ToString(), method);
            }
        }

        using var context = new ServerCallContext(http, method, options, timeout);
        Status status;
        try
        {
            await body(context).ConfigureAwait(false);
            status = context.Status;
        }
        catch (Exception ex)
        {
            status = MapException(ex, context, logger);
        }

        Complete(context, status);
    }

    internal static PipeMessageReader<T> CreateRequestReader<T>(ServerCallContext context)
        where T : IMessage<T>, new() => new(
            context.HttpContext.Request.BodyReader,
            context.Options.MaxReceiveMessageSize,
            context.HttpContext.Request.Headers[GrpcProtocol.EncodingHeader].ToString());

    /// <summary>Unary and server-streaming requests carry exactly one message.</summary>
    internal static async Task<T> ReadSingleRequestAsync<T>(ServerCallContext context)
        where T : IMessage<T>, new()
    {
        var reader = CreateRequestReader<T>(context);
        if (!await reader.MoveNextAsync(context.CancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(StatusCode.Internal, "Request did not include a message.");
        }

        var request = reader.Current;
        if (await reader.MoveNextAsync(context.CancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(StatusCode.Internal, "Request included more than one message.");
        }

        return request;
    }

    private static async Task<bool> ValidateRequestAsync(HttpContext http)
    {
        // gRPC needs HTTP/2 (trailers, full duplex); 426 tells an HTTP/1.1 client why.
        if (!HttpProtocol.IsHttp2(http.Request.Protocol))
        {
            http.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            http.Response.Headers.Connection = "Upgrade";
            http.Response.Headers.Upgrade = "h2c";
            await http.Response.WriteAsync("gRPC requires HTTP/2.", http.RequestAborted).ConfigureAwait(false);
            return false;
        }

        if (!GrpcProtocol.IsGrpcContentType(http.Request.ContentType))
        {
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return false;
        }

        return true;
    }

    private static void PrepareResponse(HttpContext http, bool streamingRequest)
    {
        // Streams (KV-cache transfer) can be arbitrarily long and slow: lift Kestrel's body limits.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        if (streamingRequest && http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rateFeature)
        {
            rateFeature.MinDataRate = null;
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = GrpcProtocol.ContentType;
        http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.IdentityEncoding;
    }

    private static Status MapException(Exception ex, ServerCallContext context, ILogger? logger)
    {
        if (ex is RpcException rpc)
        {
            return rpc.Status;
        }

        if (context.DeadlineExceeded)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        if (context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return new Status(StatusCode.Cancelled, "Call canceled by the client.");
        }

        // Never leak exception text or stack traces to the peer; log them locally instead.
        logger?.LogError(ex, "Unhandled exception in gRPC handler {Method}.", context.Method);
        return new Status(StatusCode.Internal, "Exception was thrown by handler.");
    }

    private static void Complete(ServerCallContext context, Status status)
    {
        var http = context.HttpContext;
        if (http.RequestAborted.IsCancellationRequested)
        {
            return; // stream already reset; nobody is listening for a status
        }

        var response = http.Response;
        var code = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture);
        if (!response.HasStarted && !context.MessagesWritten)
        {
            // Trailers-Only: status goes in the single HEADERS frame, which Kestrel sends with END_STREAM.
            response.Headers[GrpcProtocol.StatusTrailer] = code;
            if (!string.IsNullOrEmpty(status.Detail))
            {
                response.Headers[GrpcProtocol.MessageTrailer] = GrpcMessageEncoding.Encode(status.Detail);
            }

            foreach (var (key, value) in context.CustomTrailers)
            {
                response.Headers.Append(key, value);
            }

            return;
        }

        response.AppendTrailer(GrpcProtocol.StatusTrailer, code);
        if (!string.IsNullOrEmpty(status.Detail))
        {
            response.AppendTrailer(GrpcProtocol.MessageTrailer, GrpcMessageEncoding.Encode(status.Detail));
        }

        foreach (var (key, value) in context.CustomTrailers)
        {
            response.AppendTrailer(key, value);
        }
    }
}
