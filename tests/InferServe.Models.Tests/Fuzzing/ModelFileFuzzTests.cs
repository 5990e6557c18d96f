using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using InferServe.Models.Gguf;
using InferServe.TestSupport;
using InferServe.TestSupport.Fuzzing;

namespace InferServe.Models.Tests.Fuzzing;

/// <summary>
/// Mutated model files (safetensors headers, config.json, llama2.c and GGUF headers): every one either loads and reads
/// or fails with <see cref="ModelLoadException"/> and a message; never another exception type, a crash or a hang.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class ModelFileFuzzTests
{
    private static readonly string Dir = Path.Combine(TestPaths.GraphCacheDir, "fuzz-models");

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public void Safetensors_headers()
    {
        var run = new FuzzRun("safetensors", defaultCases: 2000);
        var mutator = new JsonMutator(["dtype", "shape", "data_offsets", "__metadata__", "a", "b", "c", "format"]);
        var seedPath = Scratch("seed.safetensors");
        SafetensorsWriter.Write(seedPath, [new WeightTensor("a", [2, 3], [1, 2, 3, 4, 5, 6]), new WeightTensor("b", [4], [1, 2, 3, 4])]);
        var seed = File.ReadAllBytes(seedPath);
        int headerLength = (int)BinaryPrimitives.ReadInt64LittleEndian(seed);
        var header = JsonNode.Parse(seed.AsSpan(8, headerLength))!;
        var data = seed[(8 + headerLength)..];
        var path = Scratch("case.safetensors");

        run.Run((i, r) =>
        {
            byte[] bytes;
            if (r.Next(3) == 0)
            {
                bytes = ByteMutator.Mutate(r, seed, fieldOffsets: [0, 1, 4, 7]);
            }
            else
            {
                var json = Encoding.UTF8.GetBytes(mutator.Mutate(r, header));
                var body = r.Next(4) == 0 ? ByteMutator.Mutate(r, data) : data;
                bytes = [.. BitConverter.GetBytes((long)json.Length), .. json, .. body];
                if (r.Next(8) == 0) BinaryPrimitives.WriteInt64LittleEndian(bytes, ByteMutator.InterestingInt(r));
            }
            File.WriteAllBytes(path, bytes);
            Expect(run, i, Encoding.UTF8.GetString(bytes), () =>
            {
                using var file = new SafetensorsFile(path);
                foreach (var name in file.TensorNames.ToList()) file.Read(name);
            });
        });
        run.AssertClean();
        Assert.True(run.DistinctOutcomes >= 10, $"only {run.DistinctOutcomes} distinct outcomes: {string.Join(" | ", run.Outcomes)}");
    }

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public void Config_json()
    {
        var run = new FuzzRun("config.json", defaultCases: 1500);
        var spec = TinyModels.Path(InferServe.ModelGen.ModelSpec.Tiny);
        var seed = JsonNode.Parse(File.ReadAllText(Path.Combine(spec, "config.json")))!;
        string[] fields = ["architectures", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "head_dim", "vocab_size", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling", "rope_type", "type", "factor",
            "low_freq_factor", "high_freq_factor", "original_max_position_embeddings", "tie_word_embeddings", "attention_bias", "bos_token_id", "eos_token_id"];
        var mutator = new JsonMutator(fields);
        var dir = Scratch("config-case");
        Directory.CreateDirectory(dir);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), [new WeightTensor("x", [2], [1, 2])]);
        var generation = JsonNode.Parse("""{"bos_token_id":1,"eos_token_id":[2,3]}""")!;

        run.Run((i, r) =>
        {
            var config = mutator.Mutate(r, seed);
            File.WriteAllText(Path.Combine(dir, "config.json"), config);
            var generationPath = Path.Combine(dir, "generation_config.json");
            if (r.Next(4) == 0) File.WriteAllText(generationPath, mutator.Mutate(r, generation));
            else File.Delete(generationPath);
            Expect(run, i, config, () => new HuggingFaceCheckpoint(dir).Dispose());
        });
        run.AssertClean();
        Assert.True(run.DistinctOutcomes >= 10, $"only {run.DistinctOutcomes} distinct outcomes: {string.Join(" | ", run.Outcomes)}");
    }

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public void Llama2c_headers()
    {
        var run = new FuzzRun("llama2c", defaultCases: 1500);
        // dim 8, hidden 16, 1 layer, 2 heads, 1 KV head, vocab 32 (shared), seq 8: a complete, tiny checkpoint.
        int[] header = [8, 16, 1, 2, 1, 32, 8];
        int floats = 32 * 8 + 8 + 64 + 32 + 32 + 64 + 8 + 128 + 128 + 128 + 8 + 8 * 4;
        var seed = new byte[28 + floats * 4];
        for (int k = 0; k < 7; k++) BinaryPrimitives.WriteInt32LittleEndian(seed.AsSpan(k * 4), header[k]);
        var path = Scratch("case.bin");
        using (var check = WriteAndOpen(path, seed)) Assert.Equal(8, check.Config.HiddenSize); // the seed itself loads

        run.Run((i, r) =>
        {
            var bytes = ByteMutator.Mutate(r, seed, fieldOffsets: [0, 4, 8, 12, 16, 20, 24]);
            Expect(run, i, Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 32))), () =>
            {
                using var checkpoint = WriteAndOpen(path, bytes);
                foreach (var name in AllWeightNames(checkpoint.Config)) if (checkpoint.Contains(name)) checkpoint.Read(name);
            });
        });
        run.AssertClean();
        Assert.True(run.DistinctOutcomes >= 4, $"only {run.DistinctOutcomes} distinct outcomes: {string.Join(" | ", run.Outcomes)}");

        static Llama2cCheckpoint WriteAndOpen(string path, byte[] bytes)
        {
            File.WriteAllBytes(path, bytes);
            return new Llama2cCheckpoint(path, tokenizerPath: path);
        }
    }

    [Fact(Timeout = FuzzRun.TestTimeoutMs)]
    public void Gguf_headers()
    {
        var run = new FuzzRun("gguf", defaultCases: 1500);
        var (seed, fieldOffsets) = GgufSeed.Build();
        var path = Scratch("case.gguf");
        File.WriteAllBytes(path, seed);
        using (var check = new GgufCheckpoint(path)) Assert.Equal(8, check.Config.HiddenSize); // the seed itself loads

        run.Run((i, r) =>
        {
            var bytes = ByteMutator.Mutate(r, seed, fieldOffsets: fieldOffsets);
            File.WriteAllBytes(path, bytes);
            Expect(run, i, Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 96))), () =>
            {
                using var checkpoint = new GgufCheckpoint(path);
                foreach (var name in AllWeightNames(checkpoint.Config)) if (checkpoint.Contains(name)) checkpoint.Read(name);
            });
        });
        run.AssertClean();
        Assert.True(run.DistinctOutcomes >= 10, $"only {run.DistinctOutcomes} distinct outcomes: {string.Join(" | ", run.Outcomes)}");
    }

    /// <summary>Runs one case: success or a <see cref="ModelLoadException"/> with a message are outcomes; anything else fails.</summary>
    private static void Expect(FuzzRun run, int index, string input, Action load) => run.Expect<ModelLoadException>(index, input, load, Dir);

    private static IEnumerable<string> AllWeightNames(ModelConfig config)
    {
        yield return WeightNames.Embedding;
        yield return WeightNames.FinalNorm;
        yield return WeightNames.LmHead;
        for (int l = 0; l < Math.Min(config.NumLayers, 4); l++)
        {
            yield return WeightNames.AttnNorm(l); yield return WeightNames.FfnNorm(l);
            yield return WeightNames.Q(l); yield return WeightNames.K(l); yield return WeightNames.V(l); yield return WeightNames.O(l);
            yield return WeightNames.Gate(l); yield return WeightNames.Up(l); yield return WeightNames.Down(l);
        }
    }

    private static string Scratch(string name)
    {
        Directory.CreateDirectory(Dir);
        return Path.Combine(Dir, name);
    }
}
