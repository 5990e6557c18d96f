using System.Text.Json.Nodes;
using InferServe.TestSupport;
using InferServe.TestSupport.Fuzzing;
using InferServe.Tokenization;

namespace InferServe.Models.Tests.Fuzzing;

/// <summary>
/// Mutated tokenizer files (tokenizer.json with its config, llama2.c tokenizer.bin): each loads and then encodes and
/// decodes, or fails with <see cref="TokenizerLoadException"/>; never another exception type or a hang.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class TokenizerFileFuzzTests
{
    private static readonly string Dir = Path.Combine(TestPaths.GraphCacheDir, "fuzz-tokenizers");
    private static readonly string[] Texts = ["Once upon a time", "", " \n\t ", "日本語 🙂 é", "<|im_start|>user\nHi<|im_end|>", "a\uD800b", new string('x', 300)];

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public void Tokenizer_json()
    {
        var run = new FuzzRun("tokenizer.json", defaultCases: 1000);
        var model = TinyModels.Path(InferServe.ModelGen.ModelSpec.Tiny);
        var seed = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "tokenizer.json")))!.AsObject();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "tokenizer_config.json")))!;
        string[] sections = ["model", "pre_tokenizer", "normalizer", "decoder", "added_tokens", "post_processor"];
        var mutator = new JsonMutator(["type", "vocab", "merges", "model", "pre_tokenizer", "normalizer", "decoder", "added_tokens", "post_processor",
            "pretokenizers", "normalizers", "decoders", "pattern", "Regex", "String", "behavior", "invert", "add_prefix_space", "trim_offsets", "use_regex",
            "id", "content", "special", "single_word", "lstrip", "rstrip", "normalized", "unk_token", "byte_fallback", "fuse_unk", "ignore_merges",
            "prepend", "start", "stop", "single", "pair", "special_tokens", "ids", "tokens", "bos_token", "eos_token", "add_bos_token", "chat_template"]);
        var dir = Path.Combine(Dir, "json");
        Directory.CreateDirectory(dir);

        run.Run((i, r) =>
        {
            string tokenizer;
            if (r.Next(2) == 0 && StructureFirst(r) is { } structured) tokenizer = structured;
            else tokenizer = mutator.Mutate(r, seed);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer);
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), r.Next(4) == 0 ? mutator.Mutate(r, config) : config.ToJsonString());
            Expect(run, i, tokenizer, () => Exercise(TokenizerLoader.Load(dir)));
        });
        run.AssertClean();
        Assert.True(run.DistinctOutcomes >= 10, $"only {run.DistinctOutcomes} distinct outcomes: {string.Join(" | ", run.Outcomes)}");

        // Null when the mutated section cannot be spliced back (its own text is not valid UTF-16 JSON).
        string? StructureFirst(Random r)
        {
            try
            {
                // Structure first: mutate one section (the vocabulary and merges dominate the file otherwise).
                var copy = (JsonObject)seed.DeepClone();
                var name = sections[r.Next(sections.Length)];
                var section = copy[name];
                if (section is JsonObject m && name == "model") { m.Remove("vocab"); m.Remove("merges"); }
                var mutated = JsonNode.Parse(mutator.Mutate(r, section ?? new JsonObject()) is var text && IsJson(text) ? text : "null");
                if (name == "model" && mutated is JsonObject mm && seed["model"] is JsonObject orig)
                {
                    mm["vocab"] ??= orig["vocab"]!.DeepClone();
                    mm["merges"] ??= orig["merges"]!.DeepClone();
                }
                copy[name] = mutated;
                return copy.ToJsonString();
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public void Llama2c_tokenizer_bin()
    {
        var run = new FuzzRun("tokenizer.bin", defaultCases: 500);
        var seed = File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "models", "stories260K", "tok512.bin"));
        var path = Path.Combine(Dir, "tokenizer.bin");
        Directory.CreateDirectory(Dir);
        run.Run((i, r) =>
        {
            var bytes = ByteMutator.Mutate(r, seed, fieldOffsets: [0, 4, 8, 12, 16]);
            File.WriteAllBytes(path, bytes);
            Expect(run, i, Convert.ToHexString(bytes.AsSpan(0, Math.Min(64, bytes.Length))), () => Exercise(TokenizerLoader.Load(path)));
        });
        run.AssertClean();
    }

    private static void Exercise(ITokenizer tokenizer)
    {
        foreach (var text in Texts)
        {
            var ids = tokenizer.Encode(text);
            tokenizer.Decode(ids, skipSpecialTokens: false);
            var decoder = tokenizer.CreateIncrementalDecoder();
            foreach (var id in ids) decoder.Push(id);
            decoder.Flush();
        }
        tokenizer.Decode(new[] { -1, 0, 1, int.MaxValue });
    }

    private static bool IsJson(string text)
    {
        try { JsonNode.Parse(text); return true; }
        catch (System.Text.Json.JsonException) { return false; }
    }

    private static void Expect(FuzzRun run, int index, string input, Action load) => run.Expect<TokenizerLoadException>(index, input, load, Dir);
}
