namespace InferServe.Grpc;

/// <summary>Wire constants and the spec's fixed mappings (HTTP status and HTTP/2 error code to gRPC status).</summary>
public static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusTrailer = "grpc-status";
    public const string MessageTrailer = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>application/grpc, application/grpc+proto, application/grpc;charset=... are all gRPC.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return contentType.Length == ContentType.Length
            || contentType[ContentType.Length] is '+' or ';';
    }

    /// <summary>True when a grpc-encoding value means "not compressed" (absent or identity).</summary>
    public static bool IsIdentityEncoding(string? encoding) =>
        string.IsNullOrEmpty(encoding) || string.Equals(encoding, IdentityEncoding, StringComparison.OrdinalIgnoreCase);

    /// <summary>HTTP status of a non-gRPC response to gRPC status (doc/http-grpc-status-mapping.md).</summary>
    public static StatusCode FromHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>RST_STREAM / GOAWAY error code to gRPC status (PROTOCOL-HTTP2.md, "Errors").</summary>
    public static StatusCode FromHttp2ErrorCode(long errorCode) => errorCode switch
    {
        0x7 => StatusCode.Unavailable,        // REFUSED_STREAM: safe to retry
        0x8 => StatusCode.Cancelled,          // CANCEL
        0xB => StatusCode.ResourceExhausted,  // ENHANCE_YOUR_CALM
        0xC => StatusCode.PermissionDenied,   // INADEQUATE_SECURITY
        _ => StatusCode.Internal,
    };
}
