namespace InferServe.Contracts;

/// <summary>Nothing can serve the request now (no healthy worker, model not loaded): HTTP 503, gRPC UNAVAILABLE.</summary>
public sealed class ServiceUnavailableException(string message) : Exception(message);

/// <summary>A generation service whose readiness can change after it has loaded (a gateway whose workers come and go).</summary>
public interface IReadinessProbe
{
    /// <summary>
    /// Whether requests can be served now. <paramref name="reason"/>: when not ready, why; when ready, what is
    /// degraded (e.g. a prefill worker down, so decode workers prefill themselves), or empty when nothing is.
    /// </summary>
    bool IsReady(out string reason);
}
