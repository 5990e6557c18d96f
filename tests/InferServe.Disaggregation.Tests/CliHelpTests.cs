using InferServe.TestSupport;

namespace InferServe.Disaggregation.Tests;

/// <summary>
/// `inferserve COMMAND --help` lists that command's options and does nothing else (no model generated, no graph built,
/// nothing downloaded); `--version` prints the version; bad values and unknown options are one line naming the option.
/// </summary>
public sealed class CliHelpTests
{
    private static readonly string[] Model = ["--model", "--shape", "--tokenizer", "--cache-dir"];
    private static readonly string[] Engine = [.. Model, "--device", "--threads", "--weights", "--kv-dtype", "--weight-block-size", "--accuracy-level",
        "--kv-cache-memory", "--block-size", "--max-seqs", "--max-batched-tokens", "--max-queue", "--no-prefix-caching", "--no-ort-spinning",
        "--attention-threads", "--step-graph", "--priority-aging-seconds"];

    /// <summary>Every command and every option it declares (README "Commands" and the sections after it).</summary>
    public static TheoryData<string, string[]> Commands => new()
    {
        { "serve", [.. Engine, "--role", "--prefill", "--decode", "--routing", "--remote-prefill-min-tokens", "--kv-lease-seconds", "--gateway",
            "--advertise-address", "--served-model-name", "--host", "--port", "--grpc-port", "--api-key", "--api-key-file", "--tls-cert", "--tls-key",
            "--worker-tls-cert", "--worker-tls-key", "--worker-ca", "--worker-token", "--chat-template", "--tool-call-parser", "--max-body-size", "--log-format"] },
        { "generate", [.. Engine, "--prompt", "--max-tokens", "--temperature", "--top-p", "--top-k", "--min-p", "--repetition-penalty", "--seed", "--ignore-eos", "--stats"] },
        { "pull", ["org/name[@revision][:file]"] },
        { "bench", [.. Engine, "--concurrency", "--prompt-tokens", "--gen-tokens", "--requests", "--json", "--json-schema", "--rounds", "--profile", "--no-roofline"] },
        { "bench-attention", ["--kv-dtype", "--concurrency", "--context", "--layers", "--kernel"] },
        { "bench-dense", [.. Model, "--weights", "--rows", "--threads", "--weight-block-size", "--accuracy-level", "--no-ort-spinning"] },
        { "bench-serve", ["--url", "--rate", "--requests", "--prompt-tokens", "--max-tokens", "--vocab", "--seed", "--label", "--json"] },
        { "quality", [.. Model, "--prompts", "--tokens", "--device", "--reference-device", "--weights", "--kv-dtypes"] },
        { "make-model", ["--shape", "--output"] },
        { "convert", ["--model", "--output", "--tokenizer", "--chat-template"] },
        { "providers", [] },
        { "healthcheck", ["--url", "--ca"] },
    };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Commands))]
    public async Task Help_lists_the_options_and_does_nothing_else(string command, string[] options)
    {
        var scratch = Directory.CreateTempSubdirectory("inferserve-help-").FullName;
        try
        {
            // Where a command would write: the graph/model cache, the Hugging Face cache and make-model's --output.
            var env = new Dictionary<string, string> { ["INFERSERVE_CACHE_DIR"] = scratch, ["HF_HOME"] = scratch, ["HF_HUB_CACHE"] = scratch, ["HF_HUB_OFFLINE"] = "1" };
            foreach (var help in new[] { "--help", "-h" })
            {
                string[] args = options.Contains("--output") ? [command, "--output", Path.Combine(scratch, "out"), help] : [command, help];
                var (code, output) = await ServerProcess.RunToEndAsync(args, TestContext.Current.CancellationToken, env);
                Assert.True(code == 0, output);
                Assert.Contains($"inferserve {command}", output); // its usage line
                foreach (var option in options) Assert.Contains(option, output);
                Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain("Generating", output);
                Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Version_prints_the_informational_version()
    {
        var (code, output) = await ServerProcess.RunToEndAsync(["--version"], TestContext.Current.CancellationToken);
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+\S*\s*$", output);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(new[] { "serve", "--port", "http" }, "--port must be an integer in [0, 65535], got 'http'.")]
    [InlineData(new[] { "generate", "--top-p", "2" }, "--top-p must be a number in [1E-06, 1], got '2'.")]
    [InlineData(new[] { "serve", "--log-format", "xml" }, "Unknown --log-format 'xml'; use simple or json.")]
    [InlineData(new[] { "serve", "--step-graph", "yes" }, "Unknown --step-graph 'yes'; use on or off.")]
    [InlineData(new[] { "bench", "--weights", "int4,int3" }, "--weights: Unknown weight precision 'int3'; use fp32, int8 or int4.")]
    [InlineData(new[] { "bench-attention", "--kernel", "fast" }, "Unknown --kernel 'fast'; use block or generic.")]
    [InlineData(new[] { "make-model", "--shape", "huge" }, "--shape: Unknown model shape 'huge'; use tiny,")]
    [InlineData(new[] { "healthcheck", "--ur", "http://127.0.0.1:1/" }, "Unrecognized command or argument '--ur'")]
    [InlineData(new[] { "generate", "--max-tokens" }, "--max-tokens")]
    public async Task A_bad_value_is_one_line_naming_the_option_and_the_allowed_values(string[] args, string message)
    {
        var (code, output) = await ServerProcess.RunToEndAsync(args, TestContext.Current.CancellationToken);
        Assert.Equal(2, code);
        var line = Assert.Single(output.Trim().Split('\n'));
        Assert.StartsWith("error: ", line);
        Assert.Contains(message, line);
    }

    [Fact(Timeout = 60_000)]
    public async Task Command_line_flags_win_over_environment_configuration()
    {
        var ct = TestContext.Current.CancellationToken;
        // INFERSERVE__Role from the environment applies when no --role is given ...
        var env = new Dictionary<string, string> { ["INFERSERVE__Role"] = "gateway" };
        var (code, output) = await ServerProcess.RunToEndAsync(["serve", "--gateway", "http://127.0.0.1:1"], ct, env);
        Assert.Equal(2, code);
        Assert.Contains("--gateway is for workers", output);
        // ... and --role wins over it.
        (code, output) = await ServerProcess.RunToEndAsync(["serve", "--role", "decode", "--prefill", "http://127.0.0.1:1"], ct, env);
        Assert.Equal(2, code);
        Assert.Contains("--prefill and --decode are for --role gateway", output);
    }
}
