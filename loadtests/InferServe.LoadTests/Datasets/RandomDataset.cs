namespace InferServe.LoadTests.Datasets;

/// <summary>
/// Random token-id prompts with lengths drawn uniformly in [len*(1-ratio), len*(1+ratio)] (vLLM's random dataset).
/// Each request derives its own generator from (seed, index), so prompts do not depend on timing or concurrency.
/// </summary>
public sealed class RandomDataset(int inputLen, int outputLen, double rangeRatio, int vocab, int seed) : IDataset
{
    // Ids 0..2 are usually special tokens (pad, BOS, EOS).
    internal const int FirstId = 3;

    public string Describe() => $"random input {inputLen} output {outputLen} range-ratio {rangeRatio} vocab {vocab} seed {seed}";

    public Prompt Get(long index)
    {
        var rng = new Random(HashCode.Combine(seed, index));
        int inLen = Draw(rng, inputLen), outLen = Draw(rng, outputLen);
        var ids = RandomIds(rng, inLen, vocab);
        return new Prompt(ids, Words(ids), null, outLen);
    }

    private int Draw(Random rng, int len)
    {
        int lo = Math.Max(1, (int)Math.Round(len * (1 - rangeRatio))), hi = Math.Max(lo, (int)Math.Round(len * (1 + rangeRatio)));
        return rng.Next(lo, hi + 1);
    }

    internal static int[] RandomIds(Random rng, int count, int vocab)
    {
        var ids = new int[count];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(FirstId, Math.Max(FirstId + 1, vocab));
        return ids;
    }

    /// <summary>A text stand-in for chat, about one word per token.</summary>
    internal static string Words(int[] ids) => string.Join(' ', ids.Select(i => Vocabulary[i % Vocabulary.Length]));

    private static readonly string[] Vocabulary =
        ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "park", "with", "ball", "sun", "was", "bright", "tree", "bird", "sang", "song"];
}
