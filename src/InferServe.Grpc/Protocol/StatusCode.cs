namespace InferServe.Grpc;

/// <summary>The 17 canonical gRPC status codes (values are on the wire as grpc-status).</summary>
public enum StatusCode
{
    OK = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

/// <summary>Final outcome of a call: code plus human-readable detail (grpc-message).</summary>
public readonly record struct Status(StatusCode StatusCode, string Detail = "")
{
    public static readonly Status DefaultSuccess = new(StatusCode.OK);

    public override string ToString() => $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")";
}
