using System.Text;
using Grpc.Core;
using InferServe.Api.Grpc.Tests.Infrastructure;
using InferServe.Api.Grpc.V1;
using InferServe.Engine.Hosting;
using InferServe.TestSupport;

namespace InferServe.Api.Grpc.Tests;

/// <summary>The C# Grpc.Net.Client (generated <see cref="Inference.InferenceClient"/>) against inferserve.v1.Inference on Kestrel.</summary>
public sealed class ClientTests : IAsyncLifetime
{
    private ApiServer _server = null!;

    private static Engine.LlmEngine Engine => TestEngine.Engine.LocalEngine();

    private static CallOptions Bounded => GrpcCalls.Within(TestEngine.Timeout, TestContext.Current.CancellationToken);

    public async ValueTask InitializeAsync() => _server = await ApiServer.StartAsync(TestEngine.Engine);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private static GenerateRequest Greedy(int maxTokens = 20) =>
        new() { Text = "The quick brown fox", MaxTokens = maxTokens, Temperature = 0, IgnoreEos = true };

    private static GenerateRequest Long(string requestId) =>
        new() { RequestId = requestId, Text = "Once upon a time", MaxTokens = 1000, N = 4, IgnoreEos = true };

    [Fact]
    public async Task Greedy_stream_reassembles_to_the_unary_completion()
    {
        var request = Greedy();
        var text = new StringBuilder();
        var tokens = new List<int>();
        var messages = new List<GenerateResponse>();
        using (var call = _server.Client.Generate(request, Bounded))
        {
            await foreach (var m in call.ResponseStream.ReadAllAsync(TestContext.Current.CancellationToken))
            {
                messages.Add(m);
                text.Append(m.Text);
                tokens.AddRange(m.TokenIds);
            }

            Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        }

        var complete = await _server.Client.CompleteAsync(request, Bounded);

        var choice = Assert.Single(complete.Choices);
        Assert.Equal(20, tokens.Count);
        Assert.Equal(choice.TokenIds, tokens);
        Assert.Equal(choice.Text, text.ToString());
        Assert.Equal(V1.FinishReason.Length, choice.FinishReason);
        Assert.Equal(V1.FinishReason.Length, messages[^1].FinishReason);
        Assert.All(messages[..^1], m => Assert.Equal(V1.FinishReason.Unspecified, m.FinishReason));
        Assert.All(messages[..^1], m => Assert.Null(m.Usage));
        // The second run may hit the prefix cache (cached_tokens), the counts are the same.
        Assert.Equal(complete.Usage.PromptTokens, messages[^1].Usage.PromptTokens);
        Assert.Equal(complete.Usage.CompletionTokens, messages[^1].Usage.CompletionTokens);
        Assert.Equal(complete.Usage.TotalTokens, messages[^1].Usage.TotalTokens);
        Assert.Equal(20, complete.Usage.CompletionTokens);
        Assert.Equal(complete.Usage.PromptTokens + 20, complete.Usage.TotalTokens);
        Assert.Equal(Engine.Tokenizer.Encode("The quick brown fox").Length, complete.Usage.PromptTokens);
        Assert.Equal(ApiServer.ModelName, complete.Model);
        Assert.StartsWith("grpc-", complete.RequestId);
    }

    [Fact]
    public async Task Token_id_prompt_n_choices_logprobs_and_continuous_usage()
    {
        var request = new GenerateRequest
        {
            TokenIds = new TokenIds { Ids = { 5, 6, 7, 8 } },
            MaxTokens = 6,
            N = 3,
            Seed = 1234,
            Logprobs = 2,
            IgnoreEos = true,
            UsageReporting = UsageReporting.Continuous,
        };

        var complete = await _server.Client.CompleteAsync(request, Bounded);
        Assert.Equal([0, 1, 2], complete.Choices.Select(c => c.Index));
        Assert.All(complete.Choices, c =>
        {
            Assert.Equal(6, c.TokenIds.Count);
            Assert.Equal(6, c.Logprobs.Count);
            Assert.Equal(c.TokenIds, c.Logprobs.Select(l => l.TokenId));
            Assert.All(c.Logprobs, l => Assert.Equal(2, l.Top.Count));
        });
        Assert.Equal(4, complete.Usage.PromptTokens);
        Assert.Equal(18, complete.Usage.CompletionTokens);

        using var call = _server.Client.Generate(request, Bounded);
        var messages = new List<GenerateResponse>();
        await foreach (var m in call.ResponseStream.ReadAllAsync(TestContext.Current.CancellationToken))
        {
            messages.Add(m);
        }

        Assert.All(messages, m => Assert.NotNull(m.Usage));
        Assert.Equal(3, messages.Count(m => m.FinishReason == V1.FinishReason.Length));
        for (var i = 0; i < 3; i++)
        {
            // Same seed: the stream reproduces the unary choices.
            Assert.Equal(complete.Choices[i].TokenIds, messages.Where(m => m.Index == i).SelectMany(m => m.TokenIds));
        }
    }

    [Fact]
    public async Task Model_info()
    {
        var info = await _server.Client.GetModelInfoAsync(new ModelInfoRequest(), Bounded);

        Assert.Equal(ApiServer.ModelName, info.Id);
        Assert.Equal("LlamaForCausalLM", info.Architecture);
        Assert.Equal(Engine.MaxContext, info.MaxContext);
        Assert.Equal(512, info.VocabSize);
        Assert.NotEmpty(info.EosTokenIds);
        Assert.Equal(Engine.Stats.TotalBlocks, info.KvTotalBlocks);
        Assert.True(info.KvBlockSize > 0);
    }

    [Fact]
    public async Task A_gzip_compressed_request_gets_the_same_completion()
    {
        var request = Greedy(8);
        var plain = await _server.Client.CompleteAsync(request, Bounded);

        // Grpc.Net.Client compresses the request message with gzip when this metadata names it (grpc-encoding: gzip).
        var gzip = new CallOptions(new Metadata { { "grpc-internal-encoding-request", "gzip" } }, DateTime.UtcNow + TestEngine.Timeout,
            TestContext.Current.CancellationToken);
        var compressed = await _server.Client.CompleteAsync(request, gzip);

        Assert.Equal(plain.Choices[0].TokenIds, compressed.Choices[0].TokenIds);
    }

    [Fact]
    public async Task Deadline_exceeded_aborts_the_engine_request_and_frees_its_blocks()
    {
        // A warm connection first, so the deadline cannot run out in the handshake before the request reaches the engine
        // (then no abort would ever be recorded). The engine stops after the request's first step until the deadline
        // has passed, so the request is mid-generation when it fires, on any machine.
        await _server.Client.GetModelInfoAsync(new ModelInfoRequest(), Bounded);
        var request = Long("cs-deadline");
        request.N = 8;
        var options = GrpcCalls.Within(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        RpcException error;
        using (TestEngine.Recorder.HoldNextStep())
        {
            error = await Assert.ThrowsAsync<RpcException>(async () => await _server.Client.CompleteAsync(request, options));
        }

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal(global::InferServe.Contracts.FinishReason.Abort, await TestEngine.Recorder.FinishedAsync("cs-deadline"));
        await TestEngine.AssertAllBlocksFreedAsync(Engine);
    }

    [Fact]
    public async Task Cancelling_mid_stream_aborts_the_engine_request_and_frees_its_blocks()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TestEngine.Timeout);
        var call = _server.Client.Generate(Long("cs-cancel"), new CallOptions(cancellationToken: cts.Token));
        var received = 0;
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync(cts.Token))
            {
                if (++received == 2)
                {
                    await cts.CancelAsync();
                }
            }
        });
        call.Dispose();

        Assert.True(error is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }, error.ToString());
        Assert.Equal(2, received);
        Assert.Equal(global::InferServe.Contracts.FinishReason.Abort, await TestEngine.Recorder.FinishedAsync("cs-cancel"));
        await TestEngine.AssertAllBlocksFreedAsync(Engine);
    }

    public static TheoryData<string, GenerateRequest, string> InvalidRequests => new()
    {
        { "max_tokens 0", new GenerateRequest { Text = "hi", MaxTokens = 0 }, "max_tokens" },
        { "temperature -1", new GenerateRequest { Text = "hi", Temperature = -1 }, "temperature" },
        { "top_p 0", new GenerateRequest { Text = "hi", TopP = 0 }, "top_p" },
        { "n 0", new GenerateRequest { Text = "hi", N = 0 }, "n must" },
        { "logprobs 21", new GenerateRequest { Text = "hi", Logprobs = 21 }, "logprobs" },
        { "too long", new GenerateRequest { Text = "hi", MaxTokens = 5000 }, "maximum context length" },
        { "no prompt", new GenerateRequest { MaxTokens = 4 }, "prompt" },
        { "empty text", new GenerateRequest { Text = "" }, "prompt" },
        { "empty token ids", new GenerateRequest { TokenIds = new TokenIds() }, "prompt" },
        { "token outside vocab", new GenerateRequest { TokenIds = new TokenIds { Ids = { 1, 99999 } } }, "vocabulary" },
        { "stop token outside vocab", new GenerateRequest { Text = "hi", StopTokenIds = { -3 } }, "stop_token_ids" },
        { "empty stop", new GenerateRequest { Text = "hi", Stop = { "" } }, "stop sequence must be 1 to" },
        { "bad enum", new GenerateRequest { Text = "hi", UsageReporting = (UsageReporting)42 }, "usage_reporting" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task Invalid_requests_are_invalid_argument(string name, GenerateRequest request, string expected)
    {
        var unary = await Assert.ThrowsAsync<RpcException>(async () => await _server.Client.CompleteAsync(request, Bounded));
        Assert.Equal(StatusCode.InvalidArgument, unary.StatusCode);
        Assert.Contains(expected, unary.Status.Detail);

        using var call = _server.Client.Generate(request, Bounded);
        var stream = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync(TestContext.Current.CancellationToken))
            {
            }
        });
        Assert.True(stream.StatusCode == StatusCode.InvalidArgument, $"{name}: {stream.Status}");
        Assert.Contains(expected, stream.Status.Detail);
    }
}

/// <summary>Calls before the engine has loaded, and a full waiting queue.</summary>
public sealed class AvailabilityTests
{
    private static CallOptions Bounded => GrpcCalls.Within(TestEngine.Timeout, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Every_method_is_unavailable_before_the_engine_is_loaded()
    {
        await using var server = await ApiServer.StartAsync(engine: null);
        var request = new GenerateRequest { Text = "hi" };

        var info = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.GetModelInfoAsync(new ModelInfoRequest(), Bounded));
        var complete = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.CompleteAsync(request, Bounded));
        using var call = server.Client.Generate(request, Bounded);
        var generate = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));

        Assert.All([info, complete, generate], e =>
        {
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.Contains("loading", e.Status.Detail);
        });
    }
}

/// <summary>A one-sequence engine with a one-request queue: a third request is turned away.</summary>
public sealed class OverloadTests
{
    private static CallOptions Bounded => GrpcCalls.Within(TestEngine.Timeout, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Full_queue_is_resource_exhausted()
    {
        var (engine, recorder) = TestEngine.Create(maxSeqs: 1, maxQueue: 1);
        await using var _ = engine;
        await using var server = await ApiServer.StartAsync(engine);
        var running = new GenerateRequest { RequestId = "busy", Text = "Once upon a time", MaxTokens = 1000, IgnoreEos = true };

        using var first = server.Client.Generate(running, Bounded);
        Assert.True(await first.ResponseStream.MoveNext(TestContext.Current.CancellationToken)); // running: left the queue
        using var second = server.Client.Generate(running.Clone().WithId("waiting"), Bounded);
        // The second request waits behind the first (one sequence); give its submission time to land.
        var deadline = DateTime.UtcNow + TestEngine.Timeout;
        while (engine.LocalEngine().Stats.Waiting == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "second request never queued");
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.CompleteAsync(new GenerateRequest { Text = "hi" }, Bounded).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("queue is full", error.Status.Detail);

        first.Dispose();
        second.Dispose();
        Assert.Equal(global::InferServe.Contracts.FinishReason.Abort, await recorder.FinishedAsync("busy"));
        Assert.Equal(global::InferServe.Contracts.FinishReason.Abort, await recorder.FinishedAsync("waiting"));
        await TestEngine.AssertAllBlocksFreedAsync(engine.LocalEngine());
    }
}

internal static class GenerateRequestExtensions
{
    public static GenerateRequest WithId(this GenerateRequest request, string id)
    {
        request.RequestId = id;
        return request;
    }
}
