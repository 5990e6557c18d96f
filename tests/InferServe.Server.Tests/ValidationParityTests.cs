using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using InferServe.Api.Grpc.V1;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;

namespace InferServe.Server.Tests;

/// <summary>A server with the gRPC API on a second port: one request, sent over both.</summary>
public sealed class HttpAndGrpcFixture : IAsyncLifetime
{
    public TestServer Gateway { get; private set; } = null!;
    public InferServe.Api.Grpc.V1.Inference.InferenceClient Grpc { get; private set; } = null!;
    private global::Grpc.Net.Client.GrpcChannel? _channel;
    public static readonly global::Grpc.Core.CallOptions WithKey = GrpcCalls.WithKey(TestServer.ApiKey);

    public async ValueTask InitializeAsync()
    {
        Gateway = await TestServer.StartAsync(grpc: true);
        _channel = GrpcCalls.Channel($"http://127.0.0.1:{Gateway.GrpcPort}");
        Grpc = new InferServe.Api.Grpc.V1.Inference.InferenceClient(_channel);
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await Gateway.DisposeAsync();
    }
}

/// <summary>
/// Request validation lives in one place (the engine's RequestValidator) with one set of bounds: HTTP and gRPC refuse the
/// same values, naming the same field, and accept the same edges.
/// </summary>
public sealed class ValidationParityTests(HttpAndGrpcFixture fixture) : IClassFixture<HttpAndGrpcFixture>
{
    /// <summary>One value of one field: how HTTP spells it (JSON) and how gRPC does (a setter on the request).</summary>
    public sealed record Field(string Name, string Json, Action<GenerateRequest> Grpc)
    {
        public override string ToString() => $"{Name}={Json}";
    }

    private static string Stops(int count, int length) => JsonSerializer.Serialize(Enumerable.Range(0, count).Select(i => new string((char)('a' + i % 26), length)));

    public static TheoryData<Field> Refused => new(
        new Field("temperature", "2.5", r => r.Temperature = 2.5f),
        new Field("temperature", "-0.5", r => r.Temperature = -0.5f),
        new Field("top_p", "0", r => r.TopP = 0),
        new Field("top_p", "1.5", r => r.TopP = 1.5f),
        new Field("min_p", "2", r => r.MinP = 2),
        new Field("top_k", "-2", r => r.TopK = -2),
        new Field("repetition_penalty", "0", r => r.RepetitionPenalty = 0),
        new Field("repetition_penalty", "3", r => r.RepetitionPenalty = 3),
        new Field("presence_penalty", "3", r => r.PresencePenalty = 3),
        new Field("frequency_penalty", "-3", r => r.FrequencyPenalty = -3),
        new Field("n", "0", r => r.N = 0),
        new Field("n", "9", r => r.N = 9), // the test server's --max-seqs is 8
        new Field("max_tokens", "0", r => r.MaxTokens = 0),
        new Field("logprobs", "21", r => r.Logprobs = 21),
        new Field("stop", Stops(17, 1), r => r.Stop.AddRange(Enumerable.Range(0, 17).Select(i => ((char)('a' + i)).ToString()))),
        new Field("stop", Stops(1, 257), r => r.Stop.Add(new string('a', 257))),
        new Field("stop_token_ids", "[999999]", r => r.StopTokenIds.Add(999999)),
        new Field("stop_token_ids", "[-1]", r => r.StopTokenIds.Add(-1)),
        new Field("stop_token_ids", JsonSerializer.Serialize(Enumerable.Range(0, 65)), r => r.StopTokenIds.AddRange(Enumerable.Range(0, 65))),
        new Field("allowed_token_ids", "[999999]", r => r.AllowedTokenIds.Add(999999)),
        new Field("allowed_token_ids", "[-1]", r => r.AllowedTokenIds.Add(-1)));

    public static TheoryData<Field> Accepted => new(
        new Field("temperature", "2", r => r.Temperature = 2),
        new Field("temperature", "0", r => r.Temperature = 0),
        new Field("top_p", "1", r => r.TopP = 1),
        new Field("top_k", "-1", r => r.TopK = -1),
        new Field("repetition_penalty", "2", r => r.RepetitionPenalty = 2),
        new Field("presence_penalty", "-2", r => r.PresencePenalty = -2),
        new Field("n", "8", r => r.N = 8),
        new Field("logprobs", "20", r => r.Logprobs = 20),
        new Field("stop", Stops(16, 256), r => r.Stop.AddRange(Enumerable.Range(0, 16).Select(i => new string((char)('a' + i), 256)))),
        new Field("stop_token_ids", JsonSerializer.Serialize(Enumerable.Range(0, 64)), r => r.StopTokenIds.AddRange(Enumerable.Range(0, 64))),
        new Field("allowed_token_ids", "[1, 2]", r => r.AllowedTokenIds.AddRange([1, 2])));

    private Task<HttpResponseMessage> PostHttp(Field f)
    {
        var body = new JsonObject { ["prompt"] = "Once upon a time", ["max_tokens"] = 1 };
        body[f.Name] = JsonNode.Parse(f.Json);
        return fixture.Gateway.PostJsonAsync("/v1/completions", body.ToJsonString(), TestContext.Current.CancellationToken);
    }

    private Task<CompleteResponse> CallGrpc(Field f)
    {
        var request = new GenerateRequest { Text = "Once upon a time", MaxTokens = 1 };
        f.Grpc(request);
        return fixture.Grpc.CompleteAsync(request, HttpAndGrpcFixture.WithKey).ResponseAsync;
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Refused))]
    public async Task Both_apis_refuse_the_value_naming_the_field(Field field)
    {
        using var http = await PostHttp(field);
        await BadRequestTests.AssertOpenAiError(http, 400, field.Name);
        var grpc = await Assert.ThrowsAsync<RpcException>(() => CallGrpc(field));
        Assert.Equal(StatusCode.InvalidArgument, grpc.StatusCode);
        Assert.Contains(field.Name, grpc.Status.Detail);
    }

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Accepted))]
    public async Task Both_apis_accept_the_edge_of_the_range(Field field)
    {
        using var http = await PostHttp(field);
        Assert.True(http.StatusCode == HttpStatusCode.OK, $"HTTP {(int)http.StatusCode}: {await http.Content.ReadAsStringAsync()}");
        var grpc = await CallGrpc(field);
        Assert.NotEmpty(grpc.Choices);
    }

    [Fact(Timeout = 120_000)]
    public async Task Http_stop_token_ids_end_the_choice_at_that_token_as_grpc_does()
    {
        // The greedy continuation's tokens, from gRPC (which reports ids); then stop on the third.
        var free = await fixture.Grpc.CompleteAsync(new GenerateRequest { Text = "Once upon a time", MaxTokens = 6, Temperature = 0, IgnoreEos = true }, HttpAndGrpcFixture.WithKey).ResponseAsync;
        var ids = free.Choices[0].TokenIds;
        int stopAt = ids.ToList().IndexOf(ids[2]) + 1; // the first occurrence of that id ends it

        var (response, body) = await fixture.Gateway.PostAsync("/v1/completions",
            new { prompt = "Once upon a time", max_tokens = 6, temperature = 0, ignore_eos = true, stop_token_ids = new[] { ids[2] } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(stopAt, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
