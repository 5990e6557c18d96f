using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using InferServe.TestSupport.Server;

namespace InferServe.Disaggregation.Tests.Support;

/// <summary>A streamed completion read as it arrives: content chunks, the finish, and when an error event came.</summary>
public sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private readonly TaskCompletionSource _firstChunk = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Chunks { get; private set; }
    public string? Finish { get; private set; }
    public string? Error { get; private set; }
    public long ErrorAt { get; private set; }
    public bool Done { get; private set; }
    public StringBuilder Text { get; } = new();
    public Task FirstChunk => _firstChunk.Task;

    private SseStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public static async Task<SseStream> OpenAsync(string baseUrl, JsonObject body, CancellationToken ct)
    {
        body["stream"] = true;
        var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/v1/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        var response = await OpenAiCalls.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        response.EnsureSuccessStatusCode();
        return new SseStream(response, new StreamReader(await response.Content.ReadAsStreamAsync(ct)));
    }

    /// <summary>Reads to the end of the stream (or until the connection drops).</summary>
    public async Task ReadToEndAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var data in Sse.DataAsync(_reader, ct))
            {
                if (data == Sse.DoneMarker)
                {
                    Done = true;
                    return;
                }
                var chunk = JsonNode.Parse(data)!;
                if (chunk["error"] is { } e)
                {
                    Error = e["message"]!.GetValue<string>();
                    ErrorAt = Stopwatch.GetTimestamp();
                    continue;
                }
                foreach (var c in chunk["choices"]!.AsArray())
                {
                    Text.Append(c!["text"]!.GetValue<string>());
                    if (c["finish_reason"] is JsonValue f) Finish = f.GetValue<string>();
                }
                Chunks++;
                _firstChunk.TrySetResult();
            }
        }
        finally
        {
            _firstChunk.TrySetResult();
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
