namespace InferServe.Transport;

/// <summary>Limits of <c>inferserve.worker.v1.Worker</c> shared by the workers and the router.</summary>
public static class WorkerMethods
{
    /// <summary>KV chunks stay well under gRPC's default 4 MiB message limit.</summary>
    public const int MaxChunkBytes = 1 << 20;
}
