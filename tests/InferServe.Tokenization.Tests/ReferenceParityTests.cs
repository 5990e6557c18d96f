using System.Text;

namespace InferServe.Tokenization.Tests;

/// <summary>
/// Parity with transformers.js (@lenml/tokenizers 3.7.2) on real tokenizer.json files:
/// llama2 (SentencePiece-style: Prepend/Replace normalizer, byte fallback; its vocabulary is Mistral-7B's),
/// llama3 (byte-level, Split regex, ignore_merges) and qwen3 (byte-level, NFC, merges as pairs).
/// </summary>
public sealed class ReferenceParityTests(ReferenceFixture reference) : IClassFixture<ReferenceFixture>
{
    public static TheoryData<string> Models => [.. ReferenceFixture.Models];

    [Theory]
    [MemberData(nameof(Models))]
    public void Encode_matches_reference_with_and_without_special_tokens(string model)
    {
        var (tokenizer, results) = reference.Get(model);
        var mismatches = new StringBuilder();
        for (int i = 0; i < Corpus.Texts.Length; i++)
        {
            Compare(mismatches, i, "ids", results[i].Ids, tokenizer.Encode(Corpus.Texts[i]));
            Compare(mismatches, i, "ids without special", results[i].IdsNoSpecial, tokenizer.Encode(Corpus.Texts[i], addSpecialTokens: false));
        }

        Assert.True(mismatches.Length == 0, mismatches.ToString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Decode_matches_reference_skipping_and_keeping_special_tokens(string model)
    {
        var (tokenizer, results) = reference.Get(model);
        for (int i = 0; i < Corpus.Texts.Length; i++)
        {
            Assert.Equal(results[i].Decoded, tokenizer.Decode(results[i].Ids, skipSpecialTokens: true));
            Assert.Equal(results[i].DecodedWithSpecial, tokenizer.Decode(results[i].Ids, skipSpecialTokens: false));
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Incremental_decoding_concatenates_to_the_reference_decode(string model)
    {
        var (tokenizer, results) = reference.Get(model);
        foreach (bool skip in new[] { true, false })
        {
            var decoder = tokenizer.CreateIncrementalDecoder(skip);
            for (int i = 0; i < Corpus.Texts.Length; i++)
            {
                decoder.Reset();
                var streamed = new StringBuilder();
                foreach (int id in results[i].Ids)
                {
                    string delta = decoder.Push(id);
                    AssertWholeCharacters(delta);
                    streamed.Append(delta);
                }

                streamed.Append(decoder.Flush());
                Assert.Equal(skip ? results[i].Decoded : results[i].DecodedWithSpecial, streamed.ToString());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Special_token_metadata_agrees_with_the_encoding(string model)
    {
        var (tokenizer, results) = reference.Get(model);
        int[] withSpecial = results[0].Ids;
        int[] without = results[0].IdsNoSpecial;
        bool referenceAddsBos = withSpecial.Length > without.Length && withSpecial[0] == tokenizer.BosTokenId;
        Assert.Equal(referenceAddsBos, tokenizer.AddBosToken);
        Assert.NotEmpty(tokenizer.EosTokenIds);
        Assert.All(tokenizer.EosTokenIds, id => Assert.True(tokenizer.IsSpecialToken(id), $"EOS {id} should be special"));
        foreach (int eos in tokenizer.EosTokenIds)
        {
            string token = tokenizer.IdToToken(eos)!;
            Assert.Equal(eos, tokenizer.TokenToId(token));
            Assert.Equal([eos], tokenizer.Encode(token, addSpecialTokens: false)); // special strings map to their ids
        }
    }

    private static void Compare(StringBuilder mismatches, int index, string what, int[] expected, int[] actual)
    {
        if (!expected.AsSpan().SequenceEqual(actual))
        {
            mismatches.AppendLine($"text[{index}] {what} {Escape(Corpus.Texts[index])}:\n  reference [{string.Join(",", expected)}]\n  ours      [{string.Join(",", actual)}]");
        }
    }

    private static string Escape(string s) => System.Text.Json.JsonSerializer.Serialize(s.Length > 80 ? s[..80] + "…" : s);

    /// <summary>A streamed delta never ends in the middle of a character (no unpaired surrogate).</summary>
    internal static void AssertWholeCharacters(string delta)
    {
        for (int i = 0; i < delta.Length; i++)
        {
            if (char.IsHighSurrogate(delta[i]))
            {
                Assert.True(i + 1 < delta.Length && char.IsLowSurrogate(delta[i + 1]), $"delta {Escape(delta)} splits a surrogate pair");
                i++;
            }
            else
            {
                Assert.False(char.IsLowSurrogate(delta[i]), $"delta {Escape(delta)} has a lone low surrogate");
            }
        }
    }
}
