using System.Net;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace InferServe.Server.Tests;

public sealed class GrpcEndpointTests
{
    [Fact]
    public async Task The_grpc_hook_is_called_and_its_routes_answer_on_the_h2c_port_over_http2()
    {
        bool hookCalled = false;
        await using var gw = await TestServer.StartAsync(grpc: true, hooks: new ServingHostHooks
        {
            MapGrpcApi = (app, host) =>
            {
                hookCalled = true;
                app.MapPost("/inferserve.test.Probe/Ping", (HttpContext ctx) => ctx.Response.WriteAsync(ctx.Request.Protocol));
            },
        });
        Assert.True(hookCalled);

        using var h2c = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gw.GrpcPort}"), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        h2c.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestServer.ApiKey);
        var response = await h2c.PostAsync("/inferserve.test.Probe/Ping", new StringContent(""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(2, 0), response.Version);
        Assert.Equal("HTTP/2", await response.Content.ReadAsStringAsync());

        // The OpenAI routes (and their API-key check) belong to the HTTP port only.
        var leaked = await h2c.PostAsync("/v1/completions", new StringContent("""{"prompt":"Hi"}"""));
        Assert.Equal(HttpStatusCode.NotFound, leaked.StatusCode);
        Assert.True(gw.Server.IsAuthorized("Bearer " + TestServer.ApiKey));
        Assert.False(gw.Server.IsAuthorized("Bearer nope"));
        Assert.False(gw.Server.IsAuthorized(null));
    }

    [Fact]
    public async Task The_public_inference_api_answers_on_the_grpc_port_and_requires_the_api_key()
    {
        await using var gw = await TestServer.StartAsync(grpc: true);
        using var clientChannel = GrpcCalls.Channel($"http://127.0.0.1:{gw.GrpcPort}");
        var client = new InferServe.Api.Grpc.V1.Inference.InferenceClient(clientChannel);
        var request = new InferServe.Api.Grpc.V1.GenerateRequest { Text = "Once upon a time", MaxTokens = 6, Temperature = 0 };

        var denied = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => client.CompleteAsync(request).ResponseAsync);
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, denied.StatusCode);

        var withKey = GrpcCalls.WithKey(TestServer.ApiKey);
        var response = await client.CompleteAsync(request, withKey).ResponseAsync;
        Assert.Equal(6, response.Usage.CompletionTokens);

        // The same request over HTTP gives the same text: one engine behind both APIs.
        var (http, body) = await gw.PostAsync("/v1/completions", new { model = TestServer.ModelName, prompt = "Once upon a time", max_tokens = 6, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, http.StatusCode);
        Assert.Equal(body.GetProperty("choices")[0].GetProperty("text").GetString(), response.Choices[0].Text);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_grpc_api_honours_logit_bias_min_tokens_stop_token_text_and_special_tokens()
    {
        await using var gw = await TestServer.StartAsync(grpc: true);
        using var clientChannel = GrpcCalls.Channel($"http://127.0.0.1:{gw.GrpcPort}");
        var client = new InferServe.Api.Grpc.V1.Inference.InferenceClient(clientChannel);
        var withKey = GrpcCalls.WithKey(TestServer.ApiKey);
        var tokenizer = gw.Engine.Tokenizer;
        Task<InferServe.Api.Grpc.V1.CompleteResponse> Complete(Action<InferServe.Api.Grpc.V1.GenerateRequest> configure)
        {
            var r = new InferServe.Api.Grpc.V1.GenerateRequest { Text = "Hi", MaxTokens = 6, Temperature = 0 };
            configure(r);
            return client.CompleteAsync(r, withKey).ResponseAsync;
        }

        var pinned = await Complete(r => { r.LogitBias[300] = 100; r.StopTokenIds.Add(300); r.IncludeStopStrInOutput = true; });
        Assert.Equal(tokenizer.Decode([300]), pinned.Choices[0].Text);
        Assert.Equal(InferServe.Api.Grpc.V1.FinishReason.Stop, pinned.Choices[0].FinishReason);

        int eos = gw.Engine.Facts.EosTokenIds[0];
        var held = await Complete(r => { r.LogitBias[eos] = 100; r.MinTokens = 2; });
        Assert.Equal(3, held.Usage.CompletionTokens);

        int imStart = tokenizer.TokenToId("<|im_start|>")!.Value;
        var special = await Complete(r => { r.LogitBias[imStart] = 100; r.MaxTokens = 1; r.SkipSpecialTokens = false; });
        Assert.Equal("<|im_start|>", special.Choices[0].Text);

        var withPrompt = await Complete(r => r.PromptLogprobs = 2);
        var promptLogprobs = withPrompt.Choices[0].PromptLogprobs;
        Assert.Equal(tokenizer.Encode("Hi").Length, promptLogprobs.Count);
        Assert.True(float.IsNaN(promptLogprobs[0].Logprob));
        Assert.All(promptLogprobs.Skip(1), lp => Assert.Equal(2, lp.Top.Count));

        var invalid = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => Complete(r => r.LogitBias[1] = 500));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains("logit_bias", invalid.Message);
    }
}
