using InferServe.Contracts;
using InferServe.Engine.Kv;
using InferServe.Engine.Output;
using InferServe.Engine.Sampling;
using InferServe.Grammar.Matching;

namespace InferServe.Engine.Core;

/// <summary>WaitingForKv: blocks reserved while a transfer fills them; not scheduled, never preempted.</summary>
internal enum SequenceStatus { Waiting, Running, WaitingForKv, Finished }

/// <summary>
/// One choice of a request: its tokens (prompt then output), how many of them have KV in the
/// cache, and its sampling and output state. Owned by the engine loop.
/// </summary>
internal sealed class Sequence : IPenaltyContext
{
    private int[] _tokens;
    private readonly Dictionary<int, int> _outputCounts = new();

    public RequestState Request { get; }
    public int Index { get; }
    public int Count { get; private set; }
    public int PromptLength { get; }
    /// <summary>Tokens whose K/V are in the cache; the next step computes [NumComputed, Count).</summary>
    public int NumComputed { get; set; }
    public SequenceKv Kv { get; set; }
    public SequenceStatus Status { get; set; } = SequenceStatus.Waiting;
    public ulong Rng;
    public OutputState Output { get; }
    public long AdmittedTicks { get; set; }
    public FinishReason? FinishReason { get; set; }
    /// <summary>Prompt logprobs so far (entry 0 is NaN: nothing predicts the first token); shared with forks.</summary>
    public List<TokenLogprob>? PromptLogprobs { get; set; }
    /// <summary>Whether this choice's first event has carried <see cref="PromptLogprobs"/>.</summary>
    public bool PromptLogprobsSent { get; set; }
    /// <summary>Where the output stands in the request's grammar; advanced only by sampled tokens, so preemption and recompute keep it.</summary>
    public GrammarMatcher? Grammar { get; set; }
    /// <summary>Whether the observer has heard that the token budget narrowed this choice's grammar mask.</summary>
    public bool BudgetCloseCounted { get; set; }

    public Sequence(RequestState request, int index, ReadOnlySpan<int> tokens, int promptLength, SequenceKv kv, ulong rng, OutputState output)
    {
        Request = request;
        Index = index;
        _tokens = new int[Math.Max(16, tokens.Length + Math.Min(request.Spec.MaxTokens, 4096))];
        tokens.CopyTo(_tokens);
        Count = tokens.Length;
        PromptLength = promptLength;
        Kv = kv;
        Rng = rng;
        Output = output;
    }

    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);
    public int Generated => Count - PromptLength;
    public bool IsFinished => Status == SequenceStatus.Finished;
    public ReadOnlySpan<int> PromptTokens => _tokens.AsSpan(0, PromptLength);
    public IReadOnlyDictionary<int, int> OutputCounts => _outputCounts;

    public void Append(int token)
    {
        if (Count == _tokens.Length) Array.Resize(ref _tokens, _tokens.Length * 2);
        _tokens[Count++] = token;
        _outputCounts[token] = _outputCounts.GetValueOrDefault(token) + 1;
    }

    /// <summary>A copy for n>1 fan-out: same tokens and computed KV (shared blocks), its own random stream.</summary>
    public Sequence Fork(int index, SequenceKv kv, ulong rng, OutputState output) =>
        new(Request, index, Tokens, PromptLength, kv, rng, output) { NumComputed = NumComputed, Status = Status, AdmittedTicks = AdmittedTicks, PromptLogprobs = PromptLogprobs, Grammar = Grammar?.Clone() };
}
