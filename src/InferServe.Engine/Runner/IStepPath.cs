using InferServe.Backend;
using InferServe.Engine.Attention;

namespace InferServe.Engine.Runner;

/// <summary>How a <see cref="ModelRunner"/> executes a step's layers: per-part graphs, or one whole-step graph.</summary>
internal interface IStepPath : IDisposable
{
    /// <summary>The final residual stream [T, H] of the last step (before the final norm), for <see cref="ModelRunner.HeadLogits"/>.</summary>
    NativeTensor FinalHidden { get; }

    /// <summary>Whether <see cref="Run"/> also writes the logits of the wanted rows (else the runner runs the head graph).</summary>
    bool ComputesLogits { get; }

    /// <summary>Where attention's parallel work should run, or null for the .NET thread pool.</summary>
    IParallelFor? Parallel { get; }

    /// <summary>Runs the step over the first <paramref name="tokens"/> ids; returns its dense and attention time (Stopwatch ticks).</summary>
    (long Dense, long Attention) Run(int tokens, AttentionBatch batch, IAttentionBackend attention, ReadOnlySpan<int> logitRows);
}
