using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>Request stream of a client-streaming or duplex call: one flushed frame per write.</summary>
internal sealed class ClientStreamWriter<TRequest, TResponse> : IClientStreamWriter<TRequest>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly GrpcCall<TRequest, TResponse> _call;
    private readonly int? _maxSendMessageSize;
    private int _writing;
    private bool _completed;

    public ClientStreamWriter(GrpcCall<TRequest, TResponse> call, int? maxSendMessageSize)
    {
        _call = call;
        _maxSendMessageSize = maxSendMessageSize;
    }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_completed)
        {
            throw new InvalidOperationException("Request stream has already been completed.");
        }

        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            throw new InvalidOperationException("A write is already in progress; await each WriteAsync before the next.");
        }

        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).Cancel(), _call)
            : default;
        try
        {
            var writer = await _call.Content.WriterTask.WaitAsync(cancellationToken).ConfigureAwait(false);
            GrpcFraming.WriteMessage(writer, message, _maxSendMessageSize);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw _call.WriteFailed(ex);
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    public Task CompleteAsync()
    {
        _completed = true;
        _call.Content.Complete();
        return Task.CompletedTask;
    }
}
