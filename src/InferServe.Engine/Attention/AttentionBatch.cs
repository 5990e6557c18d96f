namespace InferServe.Engine.Attention;

/// <summary>
/// What the attention kernel needs to know about one flattened step: for every token its sequence
/// and position; for every sequence its block table and context length after this step.
/// Arrays are preallocated to capacity and refilled each step.
/// </summary>
public sealed class AttentionBatch
{
    public int NumTokens;
    public int NumSeqs;
    public readonly int[] TokenSeq;
    public readonly int[] TokenPosition;
    public readonly int[][] BlockTables;
    public readonly int[] ContextLength;
    /// <summary>Changes on every <see cref="Clear"/>, so per-step derived state can be cached across layers.</summary>
    public long Version { get; private set; }

    public AttentionBatch(int maxTokens, int maxSeqs)
    {
        TokenSeq = new int[maxTokens];
        TokenPosition = new int[maxTokens];
        BlockTables = new int[maxSeqs][];
        ContextLength = new int[maxSeqs];
    }

    public void Clear()
    {
        NumTokens = 0;
        NumSeqs = 0;
        Version++;
    }

    public int AddSequence(int[] blockTable, int contextLength)
    {
        BlockTables[NumSeqs] = blockTable;
        ContextLength[NumSeqs] = contextLength;
        return NumSeqs++;
    }

    public void AddToken(int seq, int position)
    {
        TokenSeq[NumTokens] = seq;
        TokenPosition[NumTokens] = position;
        NumTokens++;
    }
}
