namespace InferServe.LoadTests.Datasets;

/// <summary>
/// Many requests over a few long shared prefixes (system prompts, documents): request i uses prefix i mod
/// <paramref name="prefixes"/> followed by a random suffix, the case prefix caching is for.
/// </summary>
public sealed class PrefixSharingDataset(int prefixes, int prefixLen, int suffixLen, int outputLen, int vocab, int seed) : IDataset
{
    private readonly int[][] _prefixes = Enumerable.Range(0, Math.Max(1, prefixes))
        .Select(p => RandomDataset.RandomIds(new Random(HashCode.Combine(seed, "prefix", p)), prefixLen, vocab)).ToArray();

    public string Describe() => $"prefix-sharing {prefixes} prefixes of {prefixLen} + suffix {suffixLen}, output {outputLen}, vocab {vocab} seed {seed}";

    public Prompt Get(long index)
    {
        var rng = new Random(HashCode.Combine(seed, index));
        int[] ids = [.. _prefixes[index % _prefixes.Length], .. RandomDataset.RandomIds(rng, suffixLen, vocab)];
        return new Prompt(ids, RandomDataset.Words(ids), null, outputLen);
    }
}
