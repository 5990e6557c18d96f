namespace InferServe.Contracts;

/// <summary>The first token of one choice, sampled by a prefill worker, with the random state that follows it.</summary>
public sealed record PrefillChoice(int Index, int Token, ulong Rng, FinishReason? Finish);

/// <summary>
/// What a remote prefill hands over: the first token of every choice, and (when some choice goes on) the lease
/// under which the prompt's KV blocks wait for pickup.
/// </summary>
public sealed record PrefillResult(string? LeaseId, int PromptTokens, int CachedTokens, int Blocks, IReadOnlyList<PrefillChoice> Choices);

/// <summary>A decode worker's view of a remote prefill: the first tokens it must continue from.</summary>
public sealed record ImportedPrefill(int CachedTokens, IReadOnlyList<PrefillChoice> Choices);
