namespace InferServe.Backend;

/// <summary>How a graph's host input buffers reach its execution provider.</summary>
public enum InputStaging
{
    /// <summary>The provider reads the host buffer in place (the CPU): bind once, write before each run.</summary>
    ZeroCopy,

    /// <summary>
    /// The provider copies a host input into its own memory when it is bound (CUDA and every other device), so a buffer
    /// written after binding is never seen: inputs are bound again before every run.
    /// </summary>
    CopyAtBind,
}

public static class InputStagingRules
{
    public static InputStaging For(ExecutionDevice device) => device.Kind == "cpu" ? InputStaging.ZeroCopy : InputStaging.CopyAtBind;
}
