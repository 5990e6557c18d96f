using InferServe.Tokenization;

namespace InferServe.Contracts;

/// <summary>What the edges need to know about the served model, whoever generates: a local engine or a router.</summary>
public sealed record ModelFacts(
    string Architecture,
    int VocabSize,
    int MaxContext,
    int? BosTokenId,
    IReadOnlyList<int> EosTokenIds,
    int KvBlockSize,
    int KvTotalBlocks,
    int MaxSeqs)
{
    /// <summary>Largest prompt + completion the KV pool can hold for one sequence.</summary>
    public int KvCapacityTokens => KvTotalBlocks * KvBlockSize;
}

/// <summary>
/// The seam between the API edges (OpenAI HTTP, public gRPC) and whatever generates tokens: the local engine
/// (<c>--role all</c>) or the remote router (<c>--role gateway</c>).
/// </summary>
public interface IGenerationService
{
    ITokenizer Tokenizer { get; }
    ModelFacts Facts { get; }
    /// <summary>Load for the metrics gauges (running, waiting, KV usage).</summary>
    EngineStats Stats { get; }

    /// <summary>
    /// Validates and starts a request. Throws <see cref="InvalidRequestException"/> (400) or
    /// <see cref="EngineOverloadedException"/> (429). Cancelling the token aborts the request.
    /// </summary>
    IGenerationStream Submit(GenerationRequest request, CancellationToken cancellationToken = default);
}

/// <summary>One submitted request: its events until every choice finished. Disposing an unfinished stream aborts it.</summary>
public interface IGenerationStream : IAsyncDisposable
{
    string RequestId { get; }
    IAsyncEnumerable<GenerationEvent> ReadAllAsync(CancellationToken cancellationToken = default);
    void Abort();
}
