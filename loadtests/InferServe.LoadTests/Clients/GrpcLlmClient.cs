using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using InferServe.Api.Grpc.V1;
using InferServe.LoadTests.Datasets;
using InferServe.LoadTests.Metrics;

namespace InferServe.LoadTests.Clients;

/// <summary>InferServe's public gRPC API: inferserve.v1.Inference/Generate, one stream of token deltas per request.</summary>
public sealed class GrpcLlmClient(Uri address, TimeSpan requestTimeout) : ILlmClient
{
    // One channel for the run, reused by every request.
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });

    public string Api => "grpc";

    public async Task SendAsync(Prompt prompt, RequestRecord record, RunClock clock, CancellationToken ct)
    {
        var request = new GenerateRequest { MaxTokens = prompt.MaxTokens, Temperature = 0, IgnoreEos = true };
        if (prompt.TokenIds is { } ids) request.TokenIds = new TokenIds { Ids = { ids } };
        else request.Text = prompt.Text;
        try
        {
            using var call = new Inference.InferenceClient(_channel).Generate(request, deadline: DateTime.UtcNow + requestTimeout, cancellationToken: ct);
            await foreach (var m in call.ResponseStream.ReadAllAsync(ct))
            {
                double now = clock.Now;
                if (m.TokenIds.Count > 0) record.Chunks.Add((now, m.TokenIds.Count));
                if (m.Usage is { } u)
                {
                    record.InputTokens = u.PromptTokens;
                    record.OutputTokens = u.CompletionTokens;
                }
                if (m.FinishReason is FinishReason.Error or FinishReason.Abort) record.Error = "finish_" + m.FinishReason.ToString().ToLowerInvariant();
            }
            record.End = clock.Now;
            if (record.Error is null && record.Chunks.Count == 0) record.Error = "no_tokens";
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // The run stopped: the request stays unfinished.
        }
        catch (RpcException e)
        {
            record.Error = "grpc_" + e.StatusCode.ToString().ToLowerInvariant();
            record.ErrorDetail = e.Status.Detail;
            record.End = clock.Now;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidProtocolBufferException)
        {
            record.Error = "grpc_transport";
            record.ErrorDetail = e.Message;
            record.End = clock.Now;
        }
    }

    public void Dispose() => _channel.Dispose();
}
