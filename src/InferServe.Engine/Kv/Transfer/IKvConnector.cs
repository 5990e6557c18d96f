using InferServe.Engine.Core;

namespace InferServe.Engine.Kv.Transfer;

/// <summary>
/// Moves a request's prompt KV between engines (vLLM's KV connector). Export, on a prefill worker: a request stops after
/// its first token and its prompt blocks stay behind for a remote reader. Import, on a decode worker: blocks are reserved,
/// filled from elsewhere, and the request's choices then join the running set. All calls but the lease reads come from
/// the engine thread.
/// </summary>
internal interface IKvConnector
{
    /// <summary>Engine loop, every turn: ends overdue exports, starts the imports that now fit.</summary>
    void Poll();

    /// <summary>How long the loop may sleep before <see cref="Poll"/> has work (an export coming due).</summary>
    TimeSpan NextDue { get; }

    /// <summary>Before a step's outputs: the export requests among <paramref name="sampling"/> produce results this step.</summary>
    void BeforeSampling(List<Sequence> sampling);

    /// <summary>After a step's outputs: publishes the results of the step's exports and ends their choices.</summary>
    void CompleteExports();

    /// <summary>An admitted import (its choices hold their first tokens) waits for its prompt's KV.</summary>
    void Import(RequestState state);

    /// <summary>Imports admitted but not yet given blocks.</summary>
    int PendingImports { get; }

    /// <summary>Imports whose KV was recomputed here because the transfer failed.</summary>
    long ImportFallbacks { get; }

    /// <summary>Starts reading an export's blocks (any thread); null when it is unknown, released or expired.</summary>
    KvBlockSpans? BeginRead(string exportId);

    /// <summary>Ends a read (any thread); <paramref name="release"/> ends the export too (the reader has the blocks).</summary>
    void EndRead(string exportId, bool release);

    bool Release(string exportId);

    /// <summary>Exports held now, and ended by pickup or release, or by expiry.</summary>
    (int Held, long Released, long Expired) Exports { get; }
}
