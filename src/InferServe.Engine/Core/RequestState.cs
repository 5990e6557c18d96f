using System.Threading.Channels;
using InferServe.Contracts;

namespace InferServe.Engine.Core;

/// <summary>A submitted request inside the engine: its choices, event channel and timings.</summary>
internal sealed class RequestState(GenerationRequest spec, long arrivalTicks)
{
    public GenerationRequest Spec { get; } = spec;
    public Channel<GenerationEvent> Events { get; } = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    public List<Sequence> Sequences { get; } = [];
    public long ArrivalTicks { get; } = arrivalTicks;
    public long FirstTokenTicks { get; set; }
    public long LastTokenTicks { get; set; }
    public int CachedTokens { get; set; }
    public int Unfinished { get; set; }
    public bool Forked { get; set; }
    public bool Aborted { get; set; }
    /// <summary>Engine step count when an abort was posted, or -1; a field so it can be written with a barrier.</summary>
    public long AbortRequestedAtStep = -1;
    public int CompletionTokens { get; set; }
    /// <summary>Set for a remote prefill: the request stops after its first token and its KV goes under a lease.</summary>
    public TaskCompletionSource<PrefillResult>? Export { get; init; }
    /// <summary>A step sampled the export's first tokens, so its result is set at the end of that step: finishing must not cancel it.</summary>
    public bool ExportTaken { get; set; }
    /// <summary>Set for a decode that takes its prompt KV from another worker.</summary>
    public KvImport? Import { get; init; }

    public GenerationUsage Usage => new(Spec.PromptTokens.Count, CompletionTokens, CachedTokens);
}
