using Grpc.Health.V1;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>The standard gRPC health service (grpc.health.v1.Health) on the gRPC port follows readiness, like /ready.</summary>
public sealed class GrpcHealthTests
{
    [Fact(Timeout = 120_000)]
    public async Task Health_check_is_not_serving_while_the_model_loads_and_serving_once_it_is_ready_without_an_api_key()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gw = await TestServer.StartAsync(loadModel: false, grpc: true);
        using var channel = GrpcCalls.Channel($"http://127.0.0.1:{gw.GrpcPort}");
        var health = new Health.HealthClient(channel);

        // Probes carry no API key, as for /ready.
        var loading = await health.CheckAsync(new HealthCheckRequest(), GrpcCalls.Within(TimeSpan.FromSeconds(30), ct));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, loading.Status);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await gw.Anonymous.GetAsync("/ready", ct)).StatusCode);

        await gw.Server.StartLoadingModel();
        var ready = await health.CheckAsync(new HealthCheckRequest(), GrpcCalls.Within(TimeSpan.FromSeconds(30), ct));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, ready.Status);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await gw.Anonymous.GetAsync("/ready", ct)).StatusCode);
    }
}
