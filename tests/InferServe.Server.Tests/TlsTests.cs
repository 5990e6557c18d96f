using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Security.Authentication;
using InferServe.TestSupport;
using InferServe.TestSupport.Server;
using OpenAI;
using OpenAI.Chat;

namespace InferServe.Server.Tests;

/// <summary>--tls-cert/--tls-key: the HTTP port and the public gRPC port serve TLS with a certificate from a test CA.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly TestCertificates _certs = TestCertificates.Create();
    private TestServer _gw = null!;

    public async ValueTask InitializeAsync() => _gw = await TestServer.StartAsync(s =>
    {
        s.TlsCert = _certs.NodeCertPath;
        s.TlsKey = _certs.NodeKeyPath;
    }, grpc: true);

    public async ValueTask DisposeAsync()
    {
        await _gw.DisposeAsync();
        _certs.Dispose();
    }

    [Fact(Timeout = 120_000)]
    public async Task The_OpenAI_SDK_chats_over_https_trusting_only_the_test_CA()
    {
        Assert.Equal("https", _gw.BaseAddress.Scheme);
        using var http = _certs.CreateHttpClient();
        var client = new OpenAIClient(new ApiKeyCredential(TestServer.ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(_gw.BaseAddress, "/v1"),
            Transport = new HttpClientPipelineTransport(http),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        });
        var chat = client.GetChatClient(TestServer.ModelName);
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Say hello")], new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0 });
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 6);

        var streamed = new System.Text.StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello")], new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0 }))
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
        Assert.Equal(completion.Content[0].Text, streamed.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_that_does_not_trust_the_CA_or_speaks_plain_http_gets_no_answer()
    {
        using var systemTrust = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var untrusted = await Assert.ThrowsAsync<HttpRequestException>(() => systemTrust.GetAsync(new Uri(_gw.BaseAddress, "/health")));
        Assert.IsType<AuthenticationException>(untrusted.InnerException);

        var plain = new UriBuilder(_gw.BaseAddress) { Scheme = "http" }.Uri;
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => systemTrust.GetAsync(new Uri(plain, "/health")));

        using var trusting = _certs.CreateHttpClient();
        Assert.Equal(HttpStatusCode.OK, (await trusting.GetAsync(new Uri(_gw.BaseAddress, "/health"))).StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Python_grpcio_calls_the_public_grpc_api_over_tls_with_the_api_key()
    {
        PythonGrpc.Require("client");
        var process = PythonGrpc.Start("tls_client.py", [$"localhost:{_gw.GrpcPort}", _certs.CaPath, TestServer.ApiKey],
            "INFERENCE_DESCRIPTOR", InferServe.Api.Grpc.V1.InferenceReflection.Descriptor.SerializedData.Span);
        var r = await PythonGrpc.RunToJsonAsync(process, TimeSpan.FromSeconds(100), "TLS client");

        Assert.Equal("UNAUTHENTICATED", r.GetProperty("without_key").GetString());
        Assert.Equal("OK", r.GetProperty("code").GetString());
        Assert.Equal(TestServer.ModelName, r.GetProperty("model").GetString());
        Assert.Equal(6, r.GetProperty("completion_tokens").GetInt32());
        // The same answer as over HTTPS: one engine behind both APIs.
        using var http = _certs.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestServer.ApiKey);
        var response = await http.PostAsync(new Uri(_gw.BaseAddress, "/v1/completions"), new StringContent(
            $$"""{"model":"{{TestServer.ModelName}}","prompt":"Once upon a time","max_tokens":6,"temperature":0}""", System.Text.Encoding.UTF8, "application/json"));
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(body.GetProperty("choices")[0].GetProperty("text").GetString(), r.GetProperty("text").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task The_grpc_port_negotiates_http2_by_alpn()
    {
        using var channel = GrpcCalls.Channel($"https://127.0.0.1:{_gw.GrpcPort}",
            InferServe.Transport.WorkerChannel.CreateHandler(new InferServe.Transport.WorkerLinkOptions { TrustedRoots = [_certs.Ca] }));
        var client = new InferServe.Api.Grpc.V1.Inference.InferenceClient(channel);
        var info = await client.GetModelInfoAsync(new InferServe.Api.Grpc.V1.ModelInfoRequest(),
            GrpcCalls.WithKey(TestServer.ApiKey)).ResponseAsync;
        Assert.Equal(TestServer.ModelName, info.Id);
    }
}
