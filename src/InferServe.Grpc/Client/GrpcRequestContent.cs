using System.IO.Pipelines;
using System.Net;
using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>
/// Request body of a call. Single-message calls write their one frame and end the stream; streaming calls
/// hand the body's <see cref="PipeWriter"/> to the request stream and keep the HTTP/2 stream open until
/// <see cref="Complete"/> (half-close) while the response flows concurrently.
/// </summary>
internal sealed class GrpcRequestContent : HttpContent
{
    private readonly IMessage? _singleMessage;
    private readonly TaskCompletionSource<PipeWriter> _writer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GrpcRequestContent(IMessage? singleMessage)
    {
        _singleMessage = singleMessage;
        Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
    }

    public static GrpcRequestContent ForMessage(IMessage message) => new(message);

    public static GrpcRequestContent ForStream() => new(null);

    /// <summary>Completes once the HTTP stack starts sending the body.</summary>
    public Task<PipeWriter> WriterTask => _writer.Task;

    public void Complete() => _completed.TrySetResult();

    /// <summary>The call ended (or never started): release anyone waiting to write.</summary>
    public void Fail(Exception error)
    {
        _writer.TrySetException(error);
        _completed.TrySetResult();
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        if (_singleMessage is not null)
        {
            GrpcFraming.WriteMessage(writer, _singleMessage);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (_writer.TrySetResult(writer))
        {
            await _completed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await writer.CompleteAsync().ConfigureAwait(false);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
