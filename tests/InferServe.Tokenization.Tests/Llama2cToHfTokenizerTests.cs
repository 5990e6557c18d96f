using System.Text;
using System.Text.Json;
using InferServe.Tokenization.HuggingFace;
using InferServe.Tokenization.Llama2c;

namespace InferServe.Tokenization.Tests;

/// <summary>
/// tok512.bin converted to a Hugging Face tokenizer.json (Llama 2's layout, merges derived from the piece scores as
/// transformers' LlamaConverter does) encodes and decodes as tok512.bin does, read by our loader and by transformers.js.
/// </summary>
public sealed class Llama2cToHfTokenizerTests(ReferenceFixture reference) : IClassFixture<ReferenceFixture>
{
    private static readonly string[] SpecialTexts = ["<unk>", "<s>", "</s>"];

    [Fact(Timeout = 60_000)]
    public async Task The_converted_tokenizer_json_encodes_and_decodes_the_parity_corpus_as_tok512_bin()
    {
        await Task.Run(() =>
        {
            var bin = TokenizerLoader.Load(ConvertedTok512.BinPath);
            var hf = Assert.IsType<HfTokenizer>(TokenizerLoader.Load(ConvertedTok512.Directory));
            Assert.Equal(512, hf.VocabSize);
            Assert.Equal(1, hf.BosTokenId);
            Assert.True(hf.AddBosToken);
            Assert.Equal([2], hf.EosTokenIds);
            Assert.Equal([1, 403, 407, 261, 378, 432, 274, 287, 381, 261, 400, 428], hf.Encode("Once upon a time, Tom had a dog")); // SOURCE.md
            var mismatches = new StringBuilder();
            for (int i = 0; i < Corpus.Texts.Length; i++)
            {
                foreach (bool special in new[] { true, false })
                {
                    int[] want = ExpectedIds(bin, Corpus.Texts[i], special), got = hf.Encode(Corpus.Texts[i], special);
                    if (!want.AsSpan().SequenceEqual(got))
                    {
                        mismatches.AppendLine($"text[{i}] special={special}:\n  tok512.bin [{string.Join(",", want)}]\n  converted  [{string.Join(",", got)}]");
                    }
                }

                // Without BOS, run.c keeps the dummy-prefix space that Llama 2's decoder (Strip start 1) always removes.
                int[] ids = bin.Encode(Corpus.Texts[i]), noBos = bin.Encode(Corpus.Texts[i], addSpecialTokens: false);
                string decoded = bin.Decode(ids), decodedNoBos = bin.Decode(noBos);
                if (decoded != hf.Decode(ids) || (decodedNoBos.StartsWith(' ') ? decodedNoBos[1..] : decodedNoBos) != hf.Decode(noBos))
                {
                    mismatches.AppendLine($"text[{i}] decode: '{decoded}' vs '{hf.Decode(ids)}', without BOS '{decodedNoBos}' vs '{hf.Decode(noBos)}'");
                }
            }

            Assert.True(mismatches.Length == 0, mismatches.ToString());
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 300_000)]
    public async Task Transformers_js_reads_the_converted_tokenizer_json_as_tok512_bin_encodes()
    {
        var (_, results) = reference.Get(ConvertedTok512.Name);
        var bin = TokenizerLoader.Load(ConvertedTok512.BinPath);
        await Task.Run(() =>
        {
            for (int i = 0; i < Corpus.Texts.Length; i++)
            {
                Assert.Equal(ExpectedIds(bin, Corpus.Texts[i], true), results[i].Ids);
                Assert.Equal(ExpectedIds(bin, Corpus.Texts[i], false), results[i].IdsNoSpecial);
                if (!SpecialTexts.Any(Corpus.Texts[i].Contains))
                {
                    Assert.Equal(bin.Decode(results[i].Ids), results[i].Decoded); // run.c strips the space after every BOS, HF only at the start
                }
            }
        }, TestContext.Current.CancellationToken);
    }

    [Fact(Timeout = 30_000)]
    public void Merges_are_every_in_vocabulary_split_ranked_by_the_merged_piece_score()
    {
        // LlamaConverter's order: the merged piece's score, then the longer left part, then the longer right part;
        // splits of one piece keep the order of their parts' ids.
        string[] pieces = ["<unk>", "<s>", "</s>", "a", "b", "c", "ab", "bc", "abc", "ca"];
        float[] scores = [0, 0, 0, -10, -10, -10, -1, -2, -3, -4];
        var vocab = pieces.Select((p, id) => (p, id)).ToDictionary(x => x.p, x => x.id);
        var merges = Llama2cToHfTokenizer.Merges(pieces, scores, vocab);
        Assert.Equal(new (string, string)[] { ("a", "b"), ("b", "c"), ("ab", "c"), ("a", "bc"), ("c", "a") }, merges);
    }

    [Fact(Timeout = 30_000)]
    public void The_files_have_llama_2s_layout()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(ConvertedTok512.Directory, "tokenizer.json")));
        var root = json.RootElement;
        var model = root.GetProperty("model");
        Assert.Equal("BPE", model.GetProperty("type").GetString());
        Assert.True(model.GetProperty("byte_fallback").GetBoolean());
        Assert.Equal("<unk>", model.GetProperty("unk_token").GetString());
        Assert.Equal(259, model.GetProperty("vocab").GetProperty("\u2581t").GetInt32()); // tok512 stores it as " t"
        Assert.Equal(3 + 0x41, model.GetProperty("vocab").GetProperty("<0x41>").GetInt32());
        Assert.Equal(SpecialTexts, root.GetProperty("added_tokens").EnumerateArray().Select(t => t.GetProperty("content").GetString()!));
        Assert.Equal(new[] { "Prepend", "Replace" }, root.GetProperty("normalizer").GetProperty("normalizers").EnumerateArray().Select(n => n.GetProperty("type").GetString()!));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("pre_tokenizer").ValueKind);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(ConvertedTok512.Directory, "tokenizer_config.json")));
        Assert.Equal("<s>", config.RootElement.GetProperty("bos_token").GetString());
        Assert.Equal(512, config.RootElement.GetProperty("model_max_length").GetInt32());
    }

    /// <summary>
    /// What tok512.bin gives, except for two deliberate differences, both as in every Hugging Face Llama tokenizer (and
    /// SentencePiece itself), where llama2.c's run.c takes the text literally: "&lt;s&gt;", "&lt;/s&gt;" and "&lt;unk&gt;" in
    /// the text are added tokens, so they become their ids and the text between them is encoded on its own; and a "▁" in
    /// the text is a space (the normalizer turns spaces into "▁"), where run.c spells it in byte tokens.
    /// </summary>
    private static int[] ExpectedIds(ITokenizer bin, string text, bool addSpecialTokens)
    {
        var ids = new List<int>();
        if (addSpecialTokens)
        {
            ids.Add(1);
        }

        int start = 0;
        while (true)
        {
            (int At, int Id, int Length) next = (-1, 0, 0);
            for (int id = 0; id < SpecialTexts.Length; id++)
            {
                int at = text.IndexOf(SpecialTexts[id], start, StringComparison.Ordinal);
                if (at >= 0 && (next.At < 0 || at < next.At))
                {
                    next = (at, id, SpecialTexts[id].Length);
                }
            }

            int end = next.At >= 0 ? next.At : text.Length;
            ids.AddRange(bin.Encode(text[start..end].Replace('\u2581', ' '), addSpecialTokens: false));
            if (next.At < 0)
            {
                return [.. ids];
            }

            ids.Add(next.Id);
            start = next.At + next.Length;
        }
    }
}
