using System.Diagnostics;
using System.Text;
using System.Text.Json;
using InferServe.TestSupport;

namespace InferServe.Tokenization.Tests;

/// <summary>One reference result: what transformers.js (@lenml/tokenizers) produces for a corpus text.</summary>
public sealed record ReferenceResult(int[] Ids, int[] IdsNoSpecial, string Decoded, string DecodedWithSpecial);

/// <summary>
/// Installs the reference (scripts/ci/setup-tokenizer-reference.sh, idempotent), runs it once over the corpus
/// for every model, and loads our tokenizers from the same files. When that is impossible the tests skip,
/// except on CI (CI=true), where they fail.
/// </summary>
public sealed class ReferenceFixture
{
    /// <summary>Real Hugging Face tokenizer files, and tok512 converted by <see cref="Llama2c.Llama2cToHfTokenizer"/>.</summary>
    public static readonly string[] Models = ["llama2", "llama3", "qwen3", ConvertedTok512.Name];

    private readonly Dictionary<string, ReferenceResult[]> _results = [];
    private readonly Dictionary<string, ITokenizer> _tokenizers = [];
    private readonly string? _unavailable;

    public ReferenceFixture()
    {
        string root = TestPaths.RepoRoot;
        string refDir = Path.Combine(root, ".deps", "node-tokenizers");
        try
        {
            var setup = Run("bash", [Path.Combine(root, "scripts", "ci", "setup-tokenizer-reference.sh")], root, stdin: null);
            if (setup.ExitCode != 0)
            {
                _unavailable = $"setup-tokenizer-reference.sh failed ({setup.ExitCode}): {setup.Stderr}";
                return;
            }

            var request = new
            {
                models = Models.Select(m => new { name = m, dir = ModelDir(m) }).ToArray(),
                texts = Corpus.Texts,
            };
            string script = Path.Combine(root, "tests", "InferServe.Tokenization.Tests", "reference", "reference-tokenize.js");
            // Node and our loader each take a second or two: run them side by side.
            var loading = Task.Run(() => Models.AsParallel().Select(m => (m, TokenizerLoader.Load(ModelDir(m)))).ToList());
            var node = Run(NodePath(), [script, refDir], root, JsonSerializer.Serialize(request));
            foreach (var (m, tokenizer) in loading.Result)
            {
                _tokenizers[m] = tokenizer;
            }

            if (node.ExitCode != 0)
            {
                _unavailable = $"reference script failed ({node.ExitCode}): {node.Stderr}";
                return;
            }

            using var doc = JsonDocument.Parse(node.Stdout);
            foreach (string model in Models)
            {
                _results[model] = doc.RootElement.GetProperty(model).EnumerateArray().Select(r => new ReferenceResult(
                    r.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                    r.GetProperty("idsNoSpecial").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                    r.GetProperty("decoded").GetString()!,
                    r.GetProperty("decodedWithSpecial").GetString()!)).ToArray();
            }

        }
        catch (System.ComponentModel.Win32Exception e)
        {
            _unavailable = $"cannot start the reference tools: {e.Message}";
        }
    }

    public static string ModelDir(string model) =>
        model == ConvertedTok512.Name ? ConvertedTok512.Directory : Path.Combine(TestPaths.RepoRoot, ".deps", "node-tokenizers", "models", model);

    /// <summary>Reference results for <paramref name="model"/>, or a skip (a failure on CI) when unavailable.</summary>
    public (ITokenizer Tokenizer, ReferenceResult[] Results) Get(string model)
    {
        if (_unavailable is not null)
        {
            Requirements.Missing($"tokenizer reference unavailable: {_unavailable}");
        }

        return (_tokenizers[model], _results[model]);
    }

    private static string NodePath() => File.Exists("/usr/bin/node") ? "/usr/bin/node" : "node";

    private static (int ExitCode, string Stdout, string Stderr) Run(string file, string[] args, string workDir, string? stdin)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin ?? "");
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "", "timed out");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
