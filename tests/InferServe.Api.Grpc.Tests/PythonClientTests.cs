using InferServe.Api.Grpc.Tests.Infrastructure;
using InferServe.Engine.Hosting;
using InferServe.TestSupport;

namespace InferServe.Api.Grpc.Tests;

/// <summary>A real python3-grpcio client process against inferserve.v1.Inference on Kestrel.</summary>
public sealed class PythonClientTests : IAsyncLifetime
{
    private ApiServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        PythonClient.RequireGrpcio();
        _server = await ApiServer.StartAsync(TestEngine.Engine);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Greedy_stream_reassembles_to_the_unary_completion()
    {
        var r = await PythonClient.RunAsync(_server.Target, "greedy", "py-greedy");

        Assert.Equal("OK", r.GetProperty("code").GetString());
        var streamText = r.GetProperty("stream_text").GetString();
        Assert.False(string.IsNullOrEmpty(streamText));
        Assert.Equal(r.GetProperty("complete_text").GetString(), streamText);
        var streamTokens = r.GetProperty("stream_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(24, streamTokens.Length);
        Assert.Equal(r.GetProperty("complete_tokens").EnumerateArray().Select(e => e.GetInt32()), streamTokens);
        Assert.Equal("FINISH_REASON_LENGTH", r.GetProperty("stream_finish").GetString());
        Assert.Equal("FINISH_REASON_LENGTH", r.GetProperty("complete_finish").GetString());
        var usage = r.GetProperty("stream_usage").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(24, usage[1]);
        Assert.Equal(usage[0] + usage[1], usage[2]);
        Assert.Equal(usage, r.GetProperty("complete_usage").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(r.GetProperty("usage_only_on_last").GetBoolean());
        Assert.Equal(["py-greedy"], r.GetProperty("request_ids").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(ApiServer.ModelName, r.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Model_info()
    {
        var r = await PythonClient.RunAsync(_server.Target, "model_info");

        Assert.Equal("OK", r.GetProperty("code").GetString());
        Assert.Equal(ApiServer.ModelName, r.GetProperty("id").GetString());
        Assert.Equal(TestEngine.Engine.LocalEngine().MaxContext, r.GetProperty("max_context").GetInt32());
        Assert.Equal(512, r.GetProperty("vocab_size").GetInt32());
        Assert.NotEmpty(r.GetProperty("eos").EnumerateArray());
        Assert.Equal(TestEngine.Engine.LocalEngine().Stats.TotalBlocks, r.GetProperty("kv_total_blocks").GetInt32());
    }

    [Fact]
    public async Task Deadline_exceeded_aborts_the_engine_request_and_frees_its_blocks()
    {
        // The engine stops after the request's first step until the client has seen its deadline pass: the request is
        // mid-generation when the deadline fires, on any machine.
        System.Text.Json.JsonElement r;
        using (TestEngine.Recorder.HoldNextStep())
        {
            r = await PythonClient.RunAsync(_server.Target, "deadline", "py-deadline");
        }

        Assert.Equal("DEADLINE_EXCEEDED", r.GetProperty("code").GetString());
        Assert.Equal(Contracts.FinishReason.Abort, await TestEngine.Recorder.FinishedAsync("py-deadline"));
        await TestEngine.AssertAllBlocksFreedAsync(TestEngine.Engine.LocalEngine());
    }

    [Fact]
    public async Task Cancelling_mid_stream_aborts_the_engine_request_and_frees_its_blocks()
    {
        var r = await PythonClient.RunAsync(_server.Target, "cancel", "py-cancel");

        Assert.Equal("CANCELLED", r.GetProperty("code").GetString());
        Assert.Equal(2, r.GetProperty("received").GetInt32());
        Assert.Equal(Contracts.FinishReason.Abort, await TestEngine.Recorder.FinishedAsync("py-cancel"));
        await TestEngine.AssertAllBlocksFreedAsync(TestEngine.Engine.LocalEngine());
    }

    [Fact]
    public async Task Invalid_parameters_are_invalid_argument_with_a_clear_message()
    {
        var r = await PythonClient.RunAsync(_server.Target, "invalid");
        var outcomes = r.GetProperty("outcomes");

        foreach (var (name, expected) in new[]
        {
            ("max_tokens_0", "max_tokens"),
            ("stream_max_tokens_0", "max_tokens"),
            ("temperature_-1", "temperature"),
            ("no_prompt", "prompt"),
        })
        {
            var outcome = outcomes.GetProperty(name);
            Assert.Equal("INVALID_ARGUMENT", outcome.GetProperty("code").GetString());
            Assert.Contains(expected, outcome.GetProperty("details").GetString());
        }
    }
}
