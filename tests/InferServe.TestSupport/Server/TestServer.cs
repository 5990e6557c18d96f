using System.ClientModel;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using InferServe.Contracts.Hosting;
using InferServe.Engine.Hosting;
using InferServe.Server;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace InferServe.TestSupport.Server;

/// <summary>A real gateway on Kestrel at 127.0.0.1:&lt;free port&gt; over a real engine (the generated tiny model by default).</summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string ApiKey = "sk-inferserve-test-key";
    public const string ModelName = "tiny-test";

    public required ServingHost Server { get; init; }
    public required ModelHost Host { get; init; }
    public required Uri BaseAddress { get; init; }
    /// <summary>Sends the API key.</summary>
    public required HttpClient Http { get; init; }
    /// <summary>Sends no credentials.</summary>
    public required HttpClient Anonymous { get; init; }

    public OpenAIClient OpenAI(string key = ApiKey) =>
        new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    public Engine.LlmEngine Engine => Host.Current!.LocalEngine();

    /// <summary>Holds the engine between steps on request (<see cref="StepGate.HoldNextStep"/>); null unless asked for.</summary>
    public StepGate? Steps { get; init; }

    /// <summary>The public gRPC API's h2c port (0 unless started with <c>grpc: true</c>).</summary>
    public int GrpcPort { get; init; }

    /// <param name="grpc">Also serve the public gRPC API, on a free port of its own (<see cref="GrpcPort"/>).</param>
    public static async Task<TestServer> StartAsync(Action<TestSettings>? configure = null, bool loadModel = true, string servedName = ModelName, ServingHostHooks? hooks = null,
        bool stepGate = false, bool grpc = false)
    {
        // A free port can be taken by another test between picking and binding: pick again then (the HTTP port is Kestrel's own).
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(configure, loadModel, servedName, hooks, stepGate, grpc ? InferServe.TestSupport.FreePorts.Next() : 0);
            }
            catch (IOException e) when (grpc && attempt < 5 && e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException) { }
        }
    }

    private static async Task<TestServer> StartOnceAsync(Action<TestSettings>? configure, bool loadModel, string servedName, ServingHostHooks? hooks,
        bool stepGate, int grpcPort)
    {
        var settings = new TestSettings
        {
            Host = "127.0.0.1",
            Port = 0,
            GrpcPort = 0,
            ApiKeys = [ApiKey],
            MaxBodySize = "64KiB",
            Engine = TestEngine.TinySettings(kvCacheMemory: "8MiB"),
        };
        configure?.Invoke(settings);
        if (grpcPort != 0) settings.GrpcPort = grpcPort;
        StepGate? steps = null;
        var host = stepGate
            ? new ModelHost(servedName, settings.Engine.Model, c => EngineFactory.Create(settings.Engine, steps = new StepGate(c.Observer), c.Progress))
            : EngineFactory.Host(settings.Engine, servedName);
        var server = ServingHost.Create(settings, host, new ServingHostHooks
        {
            ConfigureLogging = hooks?.ConfigureLogging ?? (l => l.SetMinimumLevelWarning()),
            MapGrpcApi = hooks?.MapGrpcApi,
            ConfigureBuilder = hooks?.ConfigureBuilder,
        });
        try
        {
            await server.StartAsync(loadModel: false);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        if (loadModel) await server.StartLoadingModel();
        if (loadModel && !host.IsReady) throw new InvalidOperationException("The model failed to load: " + host.LoadError);
        var baseAddress = server.BaseAddress;
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return new TestServer
        {
            Server = server,
            Host = host,
            Steps = steps,
            GrpcPort = grpcPort,
            BaseAddress = baseAddress,
            Http = http,
            Anonymous = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) },
        };
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json, CancellationToken ct = default) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), ct);

    public async Task<(HttpResponseMessage Response, JsonElement Body)> PostAsync(string path, object body)
    {
        var response = await PostJsonAsync(path, JsonSerializer.Serialize(body));
        var text = await response.Content.ReadAsStringAsync();
        return (response, JsonDocument.Parse(text).RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Anonymous.Dispose();
        await Server.DisposeAsync();
        await Host.DisposeAsync();
    }
}

internal static class LoggingExtensions
{
    public static void SetMinimumLevelWarning(this Microsoft.Extensions.Logging.ILoggingBuilder builder) =>
        builder.AddFilter(_ => false);
}

/// <summary>One gateway shared by the tests of a class.</summary>
public class GatewayFixture : IAsyncLifetime
{
    public TestServer Gateway { get; private set; } = null!;
    protected virtual void Configure(TestSettings settings) { }
    public async ValueTask InitializeAsync() => Gateway = await TestServer.StartAsync(Configure);
    public async ValueTask DisposeAsync() => await Gateway.DisposeAsync();
}
