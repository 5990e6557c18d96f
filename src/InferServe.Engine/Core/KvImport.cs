using InferServe.Contracts;
using InferServe.Engine.Kv.Transfer;

namespace InferServe.Engine.Core;

/// <summary>A decode request's pending KV import: the prefill's first tokens and the transfer that fills the blocks.</summary>
internal sealed class KvImport(ImportedPrefill prefill, Func<KvBlockSpans, CancellationToken, Task>? fill)
{
    public ImportedPrefill Prefill { get; } = prefill;
    public Func<KvBlockSpans, CancellationToken, Task>? Fill { get; } = fill;
    public CancellationTokenSource Cancel { get; } = new();
    public int Seats { get; set; }
}
