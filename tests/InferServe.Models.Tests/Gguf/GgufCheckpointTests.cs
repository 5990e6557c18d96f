using InferServe.Contracts;
using InferServe.Engine;
using InferServe.Models.Gguf;
using InferServe.TestSupport;

namespace InferServe.Models.Tests.Gguf;

/// <summary>GGUF files written by llama.cpp's gguf-py: metadata, tensor mapping, q/k un-permutation and errors.</summary>
public class GgufCheckpointTests
{
    private static string Stories260KBin() => Path.Combine(TestPaths.RequireStories260K(), "stories260K.bin");

    [Fact(Timeout = 60_000)]
    public async Task Stories260K_f32_gguf_has_the_bin_config_and_bit_identical_weights()
    {
        await Task.Run(() =>
        {
            using var bin = CheckpointLoader.Open(Stories260KBin());
            using var gguf = CheckpointLoader.Open(GgufTestFiles.Require("stories260K-f32.gguf"));
            Assert.IsType<GgufCheckpoint>(gguf);
            Assert.Equal(bin.Config with { Architecture = "gguf:llama" }, gguf.Config with { EosTokenIds = bin.Config.EosTokenIds });
            Assert.Equal([2], gguf.Config.EosTokenIds);
            Assert.True(gguf.Config.TieWordEmbeddings);
            Assert.Equal(Path.GetFullPath(GgufTestFiles.Require("stories260K-f32.gguf")), gguf.TokenizerPath);
            foreach (var name in AllNames(bin.Config))
            {
                var expected = bin.Read(name);
                var actual = gguf.Read(name);
                Assert.Equal(expected.Shape, actual.Shape);
                Assert.True(expected.Data.AsSpan().SequenceEqual(actual.Data), $"{name} differs"); // q/k included: un-permuted exactly
            }
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Stories260K_f16_gguf_weights_are_the_bin_weights_rounded_to_fp16()
    {
        await Task.Run(() =>
        {
            using var bin = CheckpointLoader.Open(Stories260KBin());
            using var gguf = CheckpointLoader.Open(GgufTestFiles.Require("stories260K-f16.gguf"));
            foreach (var name in AllNames(bin.Config))
            {
                var expected = bin.Read(name).Data;
                var actual = gguf.Read(name).Data;
                bool matrix = bin.Read(name).Shape.Length == 2;
                for (int i = 0; i < expected.Length; i++)
                    Assert.Equal(matrix ? (float)(Half)expected[i] : expected[i], actual[i]);
            }
        });
    }

    [Theory(Timeout = 180_000)]
    [InlineData("stories260K-f32.gguf")]
    [InlineData("stories260K-f16.gguf")]
    public async Task Stories260K_gguf_generates_the_same_greedy_text_as_the_bin(string file)
    {
        var request = new GenerationRequest { PromptTokens = [1], MaxTokens = 48, Sampling = new SamplingParams { Temperature = 0 } };
        await using var binEngine = Engines.Create(new Engines.Setup(ModelPath: Stories260KBin()));
        await using var ggufEngine = Engines.Create(new Engines.Setup(ModelPath: GgufTestFiles.Require(file)));
        var expected = (await Engines.RunAsync(binEngine, request))[0];
        var actual = (await Engines.RunAsync(ggufEngine, request))[0];
        Assert.StartsWith("Once upon a time, there was a little girl named Lily.", actual.Text);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Tokens, actual.Tokens);

        // The prompt goes through each engine's own tokenizer: tok512.bin, and the GGUF's tokenizer metadata.
        GenerationRequest Prompted(LlmEngine e) => new() { PromptTokens = e.Tokenizer.Encode("Once upon a time, Tom had a dog"), MaxTokens = 32, Sampling = new SamplingParams { Temperature = 0 } };
        var binText = (await Engines.RunAsync(binEngine, Prompted(binEngine)))[0].Text;
        Assert.StartsWith(" named Max.", binText);
        Assert.Equal(binText, (await Engines.RunAsync(ggufEngine, Prompted(ggufEngine)))[0].Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task Generated_model_config_maps_llama_metadata_and_a_tied_output()
    {
        await Task.Run(() =>
        {
            using var ckpt = CheckpointLoader.Open(GgufTestFiles.Fixture("gen256-f32.gguf"));
            var c = ckpt.Config;
            Assert.Equal((256, 256, 1, 4, 1, 64, 512, 256), (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKvHeads, c.HeadDim, c.VocabSize, c.MaxPositionEmbeddings));
            Assert.True(c.TieWordEmbeddings); // no output.weight: the smallest model that keeps every row a K-quant super-block
            Assert.Equal([512, 256], ckpt.Read(WeightNames.Embedding).Shape);
            Assert.Equal([64, 256], ckpt.Read(WeightNames.K(0)).Shape);
            Assert.Equal([256, 256], ckpt.Read(WeightNames.Down(0)).Shape);
        });
    }

    [Theory(Timeout = 60_000)]
    [InlineData("gen256-q8_0-ggufpy.gguf")]
    [InlineData("gen256-q4_0-ggufpy.gguf")]
    [InlineData("gen256-q8_0-llamacpp.gguf")]
    [InlineData("gen256-q4_0-llamacpp.gguf")]
    [InlineData("gen256-q4_k-llamacpp.gguf")]
    [InlineData("gen256-q5_k-llamacpp.gguf")]
    [InlineData("gen256-q6_k-llamacpp.gguf")]
    public async Task Dequantization_equals_gguf_py_on_every_tensor(string file)
    {
        var path = file.Contains("llamacpp", StringComparison.Ordinal) ? GgufTestFiles.Fixture(file) : GgufTestFiles.Require(file);
        var referencePath = GgufTestFiles.Require(file.Replace(".gguf", ".deq.gguf", StringComparison.Ordinal));
        await Task.Run(() =>
        {
            using var quantized = new GgufFile(path);
            using var reference = new GgufFile(referencePath);
            var types = new HashSet<GgmlType>();
            foreach (var t in quantized.Tensors.Values)
            {
                types.Add(t.Type);
                var expected = reference.ReadFloats(reference.Tensors[t.Name]);
                var actual = quantized.ReadFloats(t);
                Assert.Equal(expected.Length, actual.Length);
                for (int i = 0; i < expected.Length; i++)
                {
                    // numpy may round d*scale*q in another order: allow a few ulps.
                    if (Math.Abs(expected[i] - actual[i]) > 1e-6f * Math.Max(1f, Math.Abs(expected[i])))
                        Assert.Fail($"{t.Name} ({t.Type}) element {i}: gguf-py {expected[i]}, ours {actual[i]}");
                }
            }
            Assert.Contains(types, t => t is not (GgmlType.F32 or GgmlType.F16));
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Bf16_weights_are_the_f32_weights_truncated_to_bf16()
    {
        await Task.Run(() =>
        {
            using var f32 = CheckpointLoader.Open(GgufTestFiles.Fixture("gen256-f32.gguf"));
            using var bf16 = CheckpointLoader.Open(GgufTestFiles.Require("gen256-bf16.gguf"));
            var a = f32.Read(WeightNames.Q(0)).Data;
            var b = bf16.Read(WeightNames.Q(0)).Data;
            for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= Math.Abs(a[i]) / 128f, $"element {i}: {a[i]} vs {b[i]}");
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unsupported_tensor_type_or_architecture_is_one_clear_line()
    {
        await Task.Run(() =>
        {
            var e = Assert.Throws<ModelLoadException>(() => CheckpointLoader.Open(GgufTestFiles.Require("gen256-q4_1-ggufpy.gguf")));
            Assert.Contains("has type Q4_1, which is not supported; supported are F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            e = Assert.Throws<ModelLoadException>(() => CheckpointLoader.Open(GgufTestFiles.Require("arch-falcon.gguf")));
            Assert.Contains("GGUF architecture 'falcon'", e.Message);
            Assert.DoesNotContain('\n', e.Message);

            var truncated = Path.Combine(Path.GetTempPath(), $"truncated-{Environment.ProcessId}.gguf");
            var bytes = File.ReadAllBytes(GgufTestFiles.Require("gen256-q4_0-ggufpy.gguf"));
            File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
            try
            {
                e = Assert.Throws<ModelLoadException>(() => CheckpointLoader.Open(truncated));
                Assert.Contains("truncated", e.Message);
            }
            finally
            {
                File.Delete(truncated);
            }
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task Version_2_files_load_and_version_1_is_refused_by_name()
    {
        await Task.Run(() =>
        {
            var bytes = File.ReadAllBytes(GgufTestFiles.Require("stories260K-f32.gguf"));
            var copy = Path.Combine(Path.GetTempPath(), $"version-{Environment.ProcessId}.gguf");
            try
            {
                bytes[4] = 2; // v2 and v3 share the layout; v3 only added big-endian files
                File.WriteAllBytes(copy, bytes);
                using (var v2 = CheckpointLoader.Open(copy)) Assert.Equal(64, v2.Config.HiddenSize);
                bytes[4] = 1;
                File.WriteAllBytes(copy, bytes);
                var e = Assert.Throws<ModelLoadException>(() => CheckpointLoader.Open(copy));
                Assert.Contains("GGUF version 1 is not supported", e.Message);
            }
            finally
            {
                File.Delete(copy);
            }
        });
    }

    internal static IEnumerable<string> AllNames(ModelConfig c)
    {
        yield return WeightNames.Embedding;
        yield return WeightNames.FinalNorm;
        for (int l = 0; l < c.NumLayers; l++)
        {
            foreach (var f in new Func<int, string>[] { WeightNames.AttnNorm, WeightNames.FfnNorm, WeightNames.Q, WeightNames.K, WeightNames.V, WeightNames.O, WeightNames.Gate, WeightNames.Up, WeightNames.Down })
                yield return f(l);
        }
    }
}
