using System.Text;
using InferServe.TestSupport;

namespace InferServe.Tokenization.Tests;

/// <summary>llama2.c tokenizer.bin: the stories260K tok512 vocabulary and the 32,000-token Llama 2 vocabulary.</summary>
public sealed class Llama2cTokenizerTests
{
    private static ITokenizer Tok512() => TokenizerLoader.Load(TestPaths.RequireSharedModel("stories260K/tok512.bin"));

    private static string Llama2Path() => TestPaths.RequireSharedModel("llama2-tokenizer/tokenizer.bin");

    [Fact]
    public void Tok512_encodes_the_documented_prompt()
    {
        // Test vector from /work/shared/models/stories260K/SOURCE.md.
        Assert.Equal([1, 403, 407, 261, 378, 432, 274, 287, 381, 261, 400, 428], Tok512().Encode("Once upon a time, Tom had a dog"));
    }

    [Fact]
    public void Tok512_has_llama2c_special_tokens()
    {
        var tok = Tok512();
        Assert.Equal(512, tok.VocabSize);
        Assert.Equal(1, tok.BosTokenId);
        Assert.Equal([2], tok.EosTokenIds);
        Assert.True(tok.AddBosToken);
        Assert.Equal("\n<s>\n", tok.IdToToken(1));
        Assert.True(tok.IsSpecialToken(1) && tok.IsSpecialToken(2) && !tok.IsSpecialToken(403));
        Assert.Equal(403, tok.TokenToId(tok.IdToToken(403)!));
    }

    [Fact]
    public void Empty_text_is_just_bos_without_dummy_prefix()
    {
        var tok = Tok512();
        Assert.Equal([1], tok.Encode(""));
        Assert.Empty(tok.Encode("", addSpecialTokens: false));
    }

    [Fact]
    public void Characters_missing_from_the_vocabulary_become_byte_tokens()
    {
        var tok = Tok512();
        int[] ids = tok.Encode("你", addSpecialTokens: false);
        byte[] utf8 = Encoding.UTF8.GetBytes("你");
        Assert.Equal(utf8.Select(b => b + 3), ids.Where(id => id is >= 3 and < 259));
        Assert.Equal("<0xE4>", tok.IdToToken(utf8[0] + 3));
    }

    [Fact]
    public void Decode_strips_the_space_after_bos_and_round_trips_the_corpus()
    {
        foreach (var tok in new[] { Tok512(), TokenizerLoader.Load(Llama2Path()) })
        {
            foreach (string text in Corpus.Texts)
            {
                // llama2.c's dummy prefix adds a space that decoding after BOS removes again.
                Assert.Equal(text, tok.Decode(tok.Encode(text)));
            }

            int[] twice = [.. tok.Encode("Hi"), .. tok.Encode("there")];
            Assert.Equal("Hithere", tok.Decode(twice));
            Assert.Equal("\n<s>\nHi\n<s>\nthere", tok.Decode(twice, skipSpecialTokens: false));
        }
    }

    [Fact]
    public void Encode_matches_a_literal_port_of_run_c()
    {
        foreach (string path in new[] { TestPaths.RequireSharedModel("stories260K/tok512.bin"), Llama2Path() })
        {
            var tok = TokenizerLoader.Load(path);
            var reference = new Llama2cReference(path);
            foreach (string text in Corpus.Texts.Where(t => t.Length < 400))
            {
                Assert.Equal(reference.Encode(text, bos: true), tok.Encode(text));
                Assert.Equal(reference.Encode(text, bos: false), tok.Encode(text, addSpecialTokens: false));
            }
        }
    }

    [Fact]
    public void Llama2_vocabulary_has_32000_tokens_with_byte_fallback()
    {
        var tok = TokenizerLoader.Load(Llama2Path());
        Assert.Equal(32000, tok.VocabSize);
        Assert.Equal("<0x0A>", tok.IdToToken(3 + '\n'));
        Assert.Equal(" Once", tok.IdToToken(tok.Encode("Once", addSpecialTokens: false)[0]));
    }

    [Fact]
    public void Incremental_decoding_equals_full_decode_including_split_characters()
    {
        foreach (var tok in new[] { Tok512(), TokenizerLoader.Load(Llama2Path()) })
        {
            foreach (string text in Corpus.Texts)
            {
                int[] ids = tok.Encode(text);
                var decoder = tok.CreateIncrementalDecoder();
                var streamed = new StringBuilder();
                foreach (int id in ids)
                {
                    string delta = decoder.Push(id);
                    ReferenceParityTests.AssertWholeCharacters(delta);
                    streamed.Append(delta);
                }

                streamed.Append(decoder.Flush());
                Assert.Equal(tok.Decode(ids), streamed.ToString());
            }
        }
    }

    [Fact]
    public void Byte_tokens_of_one_character_stream_out_only_when_complete()
    {
        var tok = Tok512();
        var decoder = tok.CreateIncrementalDecoder();
        Assert.Equal("", decoder.Push(1));
        Assert.Equal("", decoder.Push(0xE4 + 3));
        Assert.Equal("", decoder.Push(0xBD + 3));
        Assert.Equal("你", decoder.Push(0xA0 + 3));
        Assert.Equal("", decoder.Push(0xE4 + 3));
        Assert.Equal("\uFFFD", decoder.Flush()); // an unfinished character at the end is replaced, as Decode does
    }

    [Fact]
    public void Truncated_file_is_a_load_error_naming_the_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"trunc-{Guid.NewGuid():N}.bin");
        byte[] original = File.ReadAllBytes(TestPaths.RequireSharedModel("stories260K/tok512.bin"));
        File.WriteAllBytes(path, original[..^3]);
        try
        {
            var e = Assert.Throws<TokenizerLoadException>(() => TokenizerLoader.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("entry 511", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
