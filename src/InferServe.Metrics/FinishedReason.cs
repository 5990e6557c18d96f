namespace InferServe.Metrics;

/// <summary>Values of the finished_reason label of request_success_total (vLLM's FinishReason, lower case).</summary>
public static class FinishedReason
{
    /// <summary>A stop string/token or EOS was produced.</summary>
    public const string Stop = "stop";
    /// <summary>max_tokens or the context length was reached.</summary>
    public const string Length = "length";
    /// <summary>The client went away or cancelled.</summary>
    public const string Abort = "abort";
    /// <summary>The engine failed the request.</summary>
    public const string Error = "error";

    public static IReadOnlyList<string> All { get; } = [Stop, Length, Abort, Error];
}
