using System.Text.Json;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>/v1/models names the model without the server's directories: no API answer shows an absolute path.</summary>
public sealed class ModelsEndpointTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact(Timeout = 60_000)]
    public async Task The_models_root_is_the_models_name_not_its_absolute_path()
    {
        var gw = fixture.Gateway;
        string model = gw.Host.ModelPath!;
        Assert.True(Path.IsPathRooted(model), $"the test model should load from an absolute path: {model}");
        var text = await gw.Http.GetStringAsync("/v1/models", TestContext.Current.CancellationToken);
        var root = JsonDocument.Parse(text).RootElement.GetProperty("data")[0].GetProperty("root").GetString()!;
        Assert.Equal(Path.GetFileName(model.TrimEnd('/')), root);
        Assert.DoesNotContain(Path.GetDirectoryName(model.TrimEnd('/'))!, text);
        Assert.DoesNotContain(Path.GetDirectoryName(model.TrimEnd('/'))!, await gw.Http.GetStringAsync($"/v1/models/{TestServer.ModelName}", TestContext.Current.CancellationToken));
    }

    [Theory(Timeout = 10_000)]
    [InlineData("/home/me/.cache/huggingface/hub/models--meta-llama--Llama-3.2-1B/snapshots/4e20de36", "meta-llama/Llama-3.2-1B")]
    [InlineData("/srv/models/stories260K/stories260K.bin", "stories260K.bin")]
    [InlineData("/srv/models/tiny/", "tiny")]
    [InlineData("org/name", "org/name")]
    [InlineData("", "served")]
    public void The_root_keeps_a_hub_id_and_drops_directories(string model, string root) =>
        Assert.Equal(root, ModelsEndpoint.Root(model, "served"));
}
