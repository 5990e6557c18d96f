using System.Globalization;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;

namespace InferServe.Api.Grpc;

/// <summary>
/// Grpc.AspNetCore reports a request it cannot read (a bad frame header, a length it refuses, garbage protobuf) as
/// UNKNOWN "Exception was thrown by handler.", as if our code had crashed. This middleware turns that answer into
/// INTERNAL naming what was wrong with the request (the spec's code for a malformed message), or RESOURCE_EXHAUSTED for
/// an impossible length, so bad input gets a
/// clear status. Such errors happen before any response message, so the status is still in the response headers.
/// </summary>
public static class GrpcBadInputStatus
{
    public static IApplicationBuilder UseGrpcBadInputStatus(this IApplicationBuilder app) => app.Use(async (ctx, next) =>
    {
        await next(ctx).ConfigureAwait(false);
        if (ctx.Response.HasStarted || ctx.Features.Get<IServerCallContextFeature>()?.ServerCallContext is not { } call) return;
        if (call.Status is not { StatusCode: StatusCode.Unknown, DebugException: { } error } || Describe(error) is not { } status) return;
        call.Status = status;
        ctx.Response.Headers["grpc-status"] = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture);
        ctx.Response.Headers["grpc-message"] = Uri.EscapeDataString(status.Detail);
    });

    /// <summary>The status for what was wrong with the request, or null when the exception was not about reading it.</summary>
    private static Status? Describe(Exception e) => e switch
    {
        InvalidProtocolBufferException => new(StatusCode.Internal, "The request message is not valid protobuf: " + e.Message),
        InvalidDataException => new(StatusCode.Internal, "The request is not valid gRPC framing: " + e.Message),
        // A declared length past 2 GiB, beyond any limit.
        IOException when e.Message.StartsWith("Message too large", StringComparison.Ordinal) =>
            new(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size."),
        _ => null,
    };
}
