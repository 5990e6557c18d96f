using System.Text;
using InferServe.TestSupport;
using InferServe.Tokenization.Gguf;

namespace InferServe.Tokenization.Tests;

/// <summary>
/// Tokenizers read from GGUF metadata written by llama.cpp's gguf-py (scripts/ci/setup-gguf-peer.sh):
/// llama3/qwen3 tokenizer.json converted with gguf-py's BpeVocab + SpecialVocab ("gpt2" BPE), and tok512 as
/// a "llama" SentencePiece vocabulary. Each must agree with the project's tokenizer for the original file.
/// </summary>
public sealed class GgufTokenizerTests
{
    private static string GgufFile(string name)
    {
        string dir = GgufTestFiles.Directory;
        string path = Path.Combine(dir, name);
        if (!File.Exists(path))
        {
            string why = $"{path} is missing; run scripts/ci/setup-gguf-peer.sh (needs ../shared/peers/llama-cpp and python3-numpy).";
            Requirements.Missing(why);
        }

        return path;
    }

    [Theory(Timeout = 120_000)]
    [InlineData("llama3", "llama-bpe")]
    [InlineData("qwen3", "qwen2")]
    public async Task Gpt2_style_gguf_vocabulary_matches_tokenizer_json_on_the_parity_corpus(string model, string pre)
    {
        string gguf = GgufFile($"vocab-{model}.gguf");
        string json = Path.Combine(ReferenceFixture.ModelDir(model), "tokenizer.json");
        Assert.True(File.Exists(json), $"{json} is missing (setup-gguf-peer.sh runs setup-tokenizer-reference.sh)");
        await Task.Run(() =>
        {
            var expected = TokenizerLoader.Load(ReferenceFixture.ModelDir(model));
            var actual = Assert.IsType<GgufTokenizer>(TokenizerLoader.Load(gguf));
            Assert.Equal("gpt2", actual.Model);
            Assert.Equal(pre, GgufMetadata.Read(gguf).GetString("tokenizer.ggml.pre"));
            AssertSameOnCorpus(expected, actual);
            Assert.Equal(expected.EosTokenIds.Take(1), actual.EosTokenIds.Take(1));
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 60_000)]
    public async Task Gguf_chat_template_comes_from_tokenizer_chat_template()
    {
        string gguf = GgufFile("vocab-qwen3.gguf");
        await Task.Run(() =>
        {
            var tokenizer = Assert.IsType<GgufTokenizer>(TokenizerLoader.Load(gguf));
            string config = File.ReadAllText(Path.Combine(ReferenceFixture.ModelDir("qwen3"), "tokenizer_config.json"));
            using var doc = System.Text.Json.JsonDocument.Parse(config);
            Assert.Equal(doc.RootElement.GetProperty("chat_template").GetString(), tokenizer.ChatTemplate);
            Assert.Contains("<|im_start|>", tokenizer.ChatTemplate);
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 60_000)]
    public async Task Tok512_as_a_llama_gguf_vocabulary_matches_the_llama2c_tokenizer()
    {
        string gguf = GgufFile("stories260K-f32.gguf");
        string bin = TestPaths.RequireSharedModel("stories260K/tok512.bin");
        await Task.Run(() =>
        {
            var expected = TokenizerLoader.Load(bin);
            var actual = Assert.IsType<GgufTokenizer>(TokenizerLoader.Load(gguf));
            Assert.Equal("llama", actual.Model);
            Assert.Null(actual.ChatTemplate);
            Assert.Equal([1, 403, 407, 261, 378, 432, 274, 287, 381, 261, 400, 428], actual.Encode("Once upon a time, Tom had a dog"));
            Assert.Equal(" t", actual.IdToToken(259)?.Replace('\u2581', ' '));
            AssertSameOnCorpus(expected, actual);
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 60_000)]
    public async Task Llama_cpps_own_starcoder_vocabulary_round_trips_the_corpus()
    {
        string gguf = GgufFile("ggml-vocab-starcoder.gguf");
        await Task.Run(() =>
        {
            var tokenizer = Assert.IsType<GgufTokenizer>(TokenizerLoader.Load(gguf));
            Assert.Equal(49152, tokenizer.VocabSize);
            Assert.False(tokenizer.AddBosToken);
            foreach (string text in Corpus.Texts)
            {
                int[] ids = tokenizer.Encode(text, addSpecialTokens: false);
                Assert.Equal(text, tokenizer.Decode(ids, skipSpecialTokens: false));
            }

            // starcoder splits digits one by one before the GPT-2 regex.
            Assert.Equal(3, tokenizer.Encode("123", addSpecialTokens: false).Length);
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 30_000)]
    public void Unsupported_tokenizer_models_and_pre_tokenizers_are_named()
    {
        var e = Assert.Throws<InvalidDataException>(() => GgufTokenizerLoader.Create(new GgufVocabulary { Model = "bert", Tokens = ["a"] }));
        Assert.Contains("tokenizer.ggml.model 'bert' is not supported", e.Message);
        e = Assert.Throws<InvalidDataException>(() => GgufTokenizerLoader.Create(new GgufVocabulary { Model = "gpt2", Pre = "chatglm-bpe", Tokens = ["a"], Merges = [] }));
        Assert.Contains("tokenizer.ggml.pre 'chatglm-bpe' is not supported", e.Message);
    }

    private static void AssertSameOnCorpus(ITokenizer expected, ITokenizer actual)
    {
        Assert.Equal(expected.VocabSize, actual.VocabSize);
        Assert.Equal(expected.BosTokenId, actual.BosTokenId);
        Assert.Equal(expected.AddBosToken, actual.AddBosToken);
        var mismatches = new StringBuilder();
        for (int i = 0; i < Corpus.Texts.Length; i++)
        {
            string text = Corpus.Texts[i];
            foreach (bool special in new[] { true, false })
            {
                int[] want = expected.Encode(text, special), got = actual.Encode(text, special);
                if (!want.AsSpan().SequenceEqual(got))
                {
                    mismatches.AppendLine($"text[{i}] special={special}:\n  tokenizer [{string.Join(",", want)}]\n  gguf      [{string.Join(",", got)}]");
                }
            }

            int[] ids = expected.Encode(text);
            if (expected.Decode(ids) != actual.Decode(ids))
            {
                mismatches.AppendLine($"text[{i}] decode: '{expected.Decode(ids)}' vs '{actual.Decode(ids)}'");
            }
        }

        Assert.True(mismatches.Length == 0, mismatches.ToString());
    }
}
