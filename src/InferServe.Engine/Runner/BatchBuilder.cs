using System.Runtime.InteropServices;
using InferServe.Engine.Attention;
using InferServe.Engine.Core;
using InferServe.Engine.Scheduling;

namespace InferServe.Engine.Runner;

/// <summary>
/// Turns the scheduler's plan into one flattened step: the token ids; the attention batch (each token's sequence and
/// position, each sequence's block table and context after the step); the rows whose logits are sampled, with their
/// sequences; and the row each chunk starts at. Buffers are sized once and refilled every step.
/// </summary>
internal sealed class BatchBuilder(int maxTokens, int maxSeqs)
{
    private readonly int[] _tokens = new int[maxTokens];
    private readonly List<int> _logitRows = new(maxSeqs);
    private readonly List<int> _chunkRows = new(maxSeqs);

    public AttentionBatch Attention { get; } = new(maxTokens, maxSeqs);
    /// <summary>The sequences that sample this step, in the order of <see cref="LogitRows"/>.</summary>
    public List<Sequence> Sampling { get; } = new(maxSeqs);
    public int NumTokens { get; private set; }
    /// <summary>Tokens of this step that are prompt (prefill) rather than generated (decode).</summary>
    public int PromptTokens { get; private set; }
    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, NumTokens);
    /// <summary>The last row of every chunk that samples: the rows the LM head runs on.</summary>
    public ReadOnlySpan<int> LogitRows => CollectionsMarshal.AsSpan(_logitRows);

    /// <summary>The row the plan's <paramref name="chunk"/>-th chunk starts at.</summary>
    public int ChunkRow(int chunk) => _chunkRows[chunk];

    public void Build(List<ScheduledChunk> plan)
    {
        Attention.Clear();
        _logitRows.Clear();
        _chunkRows.Clear();
        Sampling.Clear();
        int t = 0, prompt = 0;
        foreach (var chunk in plan)
        {
            var seq = chunk.Sequence;
            _chunkRows.Add(t);
            int si = Attention.AddSequence(seq.Kv.Table.Blocks, chunk.Start + chunk.Count);
            var tokens = seq.Tokens;
            for (int i = 0; i < chunk.Count; i++)
            {
                _tokens[t++] = tokens[chunk.Start + i];
                Attention.AddToken(si, chunk.Start + i);
            }
            if (chunk.Start < seq.PromptLength) prompt += Math.Min(chunk.Count, seq.PromptLength - chunk.Start);
            if (chunk.Samples)
            {
                _logitRows.Add(t - 1);
                Sampling.Add(seq);
            }
        }
        NumTokens = t;
        PromptTokens = prompt;
    }
}
