using InferServe.Backend;
using InferServe.Cli;
using InferServe.Models;

const string Usage = """
    inferserve — an LLM inference server (ONNX Runtime + paged KV cache)

    Commands:
      serve       OpenAI-compatible HTTP server (/v1/completions, /v1/chat/completions, /metrics);
                  --role all|prefill|decode|gateway for disaggregated serving
      generate    Stream a completion for one prompt to stdout
      pull        Download a Hugging Face hub model (org/name[@revision]) into the Hugging Face cache
      bench       Measure prefill and decode throughput
      bench-attention  Time the paged attention kernel alone (per KV dtype and batch size)
      bench-dense Time the ONNX Runtime dense graphs alone at several batch row counts
      bench-serve Open-loop load at a fixed request rate against a running server: TTFT and TPOT percentiles
      quality     Compare quantized weights / KV cache against fp32 (top-1 agreement, KL divergence)
      make-model  Write a random-weight model with real shapes (tiny, smollm2-135m, llama-3.2-1b)
      convert     Convert a llama2.c checkpoint (.bin + tokenizer .bin) into a Hugging Face Llama directory
      providers   List the execution providers of the loaded ONNX Runtime
      healthcheck Exit 0 when a URL answers 200 (container health checks)

    Run `inferserve <command> --help` for the options of a command (see README.md).
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return 0;
}

try
{
    if (args[0] == "pull") return await HubModels.PullAsync(args[1..]);
    var cmd = new CommandLine(args.Skip(1));
    return args[0] switch
    {
        "serve" => await ServeCommand.RunAsync(cmd),
        "generate" => await GenerateCommand.RunAsync(cmd),
        "bench" => await BenchCommand.RunAsync(cmd),
        "quality" => QualityCommand.Run(cmd),
        "bench-attention" => BenchAttentionCommand.Run(cmd),
        "bench-dense" => BenchDenseCommand.Run(cmd),
        "bench-serve" => await BenchServeCommand.RunAsync(cmd),
        "make-model" => MakeModelCommand.Run(cmd),
        "convert" => ConvertCommand.Run(cmd),
        "providers" => ProvidersCommand.Run(),
        "healthcheck" => await HealthcheckCommand.RunAsync(cmd),
        _ => throw new UsageException($"Unknown command '{args[0]}'.\n\n{Usage}"),
    };
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (Exception e) when (e is InferServe.Hub.HubException or InferServe.Server.CredentialException or ModelLoadException or BackendException or ArgumentException or InvalidOperationException or IOException
                           or InferServe.Tokenization.TokenizerLoadException or InferServe.Engine.InvalidRequestException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

static class ProvidersCommand
{
    public static int Run()
    {
        foreach (var p in OrtBackend.AvailableProviders()) Console.WriteLine(p);
        return 0;
    }
}

static class MakeModelCommand
{
    public static int Run(CommandLine cmd)
    {
        var spec = InferServe.ModelGen.ModelSpec.ByName(cmd.Get("shape") ?? throw new UsageException("--shape is required."));
        var output = cmd.Get("output") ?? Path.Combine("models", "generated", spec.Name);
        cmd.RejectUnknown();
        InferServe.ModelGen.TestModelGenerator.Ensure(spec, output);
        Console.WriteLine(Path.GetFullPath(output));
        return 0;
    }
}

static class HealthcheckCommand
{
    public static async Task<int> RunAsync(CommandLine cmd)
    {
        var url = cmd.Get("url", "http://127.0.0.1:8000/ready");
        var ca = cmd.Get("ca");
        cmd.RejectUnknown();
        // --ca: an https:// server whose certificate comes from a private CA (serve --tls-cert).
        var handler = new SocketsHttpHandler();
        if (ca is not null)
            handler.SslOptions.RemoteCertificateValidationCallback = InferServe.Grpc.CertificateTrust.ServerValidator(InferServe.Server.PemCredentials.LoadCaBundle(ca, "--ca"), alsoSystem: true);
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(url);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
