using InferServe.Engine.Hosting;
using InferServe.Server;
using Microsoft.Extensions.Configuration;

namespace InferServe.Cli;

/// <summary>
/// `inferserve serve`: the OpenAI-compatible HTTP gateway (and the gRPC h2c endpoint) over one engine.
/// Settings come from appsettings.json ("InferServe" section), INFERSERVE__* environment variables and
/// command-line flags, in increasing precedence.
/// </summary>
public static class ServeCommand
{
    public const string Help = """
        inferserve serve [options]

        Model (default: the generated tiny model, so `serve` works on a fresh clone):
          --model PATH               Hugging Face directory or llama2.c .bin
          --shape NAME               generated random-weight model (tiny, smollm2-135m, ...)
          --tokenizer PATH           tokenizer when it is not beside the model
          --device, --threads, --weights, --kv-dtype, --kv-cache-memory, --block-size,
          --max-seqs, --max-batched-tokens, --max-queue, --no-prefix-caching, --cache-dir
        Gateway:
          --served-model-name NAME   name clients send as "model" (default: model directory / file name)
          --host ADDR                listen address (default 127.0.0.1)
          --port N                   HTTP port (default 8000)
          --grpc-port N              h2c port for the gRPC API (default 50051; 0 disables)
          --api-key KEY              accepted bearer key (repeatable; also --api-key-file, INFERSERVE_API_KEY)
          --api-key-file PATH        one key per line
          --chat-template FILE|TEXT  chat template overriding the model's
          --max-body-size SIZE       largest request body (default 4MiB)
          --log-format simple|json
        """;

    public static async Task<int> RunAsync(CommandLine cmd, string[]? configArgs = null)
    {
        if (cmd.Flag("help"))
        {
            Console.WriteLine(Help);
            return 0;
        }
        var configuration = new ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        var settings = ServerSettings.FromConfiguration(configuration);
        Apply(cmd, settings);
        cmd.RejectUnknown();

        var servedName = settings.ServedModelName ?? ServerSettings.DefaultServedName(settings.Engine.Model);
        await using var host = new EngineHost(settings.Engine, servedName);
        await using var server = GatewayServer.Create(settings, host);
        await server.StartAsync(loadModel: true);
        await server.RunAsync();
        return 0;
    }

    /// <summary>Command-line flags over the configured settings (CLI wins).</summary>
    public static void Apply(CommandLine cmd, ServerSettings s)
    {
        s.Engine = EngineOptionsFromCli.Read(cmd, s.Engine);
        s.Engine.Model ??= ModelSource.ResolvePath(cmd, defaultShape: "tiny");
        s.ServedModelName = cmd.Get("served-model-name") ?? s.ServedModelName;
        s.Host = cmd.Get("host") ?? s.Host;
        s.Port = cmd.GetInt("port", s.Port, 0, 65535);
        s.GrpcPort = cmd.GetInt("grpc-port", s.GrpcPort, 0, 65535);
        s.ApiKeys.AddRange(cmd.GetAll("api-key"));
        s.ApiKeyFile = cmd.Get("api-key-file") ?? s.ApiKeyFile;
        s.ChatTemplate = cmd.Get("chat-template") ?? s.ChatTemplate;
        s.MaxBodySize = cmd.Get("max-body-size") ?? s.MaxBodySize;
        _ = s.MaxBodyBytes; // validate early
        s.LogFormat = cmd.Get("log-format") ?? s.LogFormat;
        if (s.GrpcPort != 0 && s.GrpcPort == s.Port) throw new UsageException("--grpc-port must differ from --port (or be 0 to disable gRPC).");
    }
}
