namespace InferServe.Grpc;

/// <summary>
/// A call finished with a non-OK status. Thrown by handlers to choose the status sent to the client,
/// and thrown by the client when the server (or the transport) ended the call with that status.
/// </summary>
public sealed class RpcException : Exception
{
    public RpcException(Status status)
        : base(status.ToString()) => Status = status;

    public RpcException(StatusCode statusCode, string detail = "")
        : this(new Status(statusCode, detail))
    {
    }

    public RpcException(Status status, Exception? innerException)
        : base(status.ToString(), innerException) => Status = status;

    public Status Status { get; }

    public StatusCode StatusCode => Status.StatusCode;
}
