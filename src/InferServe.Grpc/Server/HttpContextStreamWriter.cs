using Google.Protobuf;

namespace InferServe.Grpc;

/// <summary>Writes response messages into Kestrel's body pipe and flushes each one (one DATA frame per message).</summary>
internal sealed class HttpContextStreamWriter<T> : IServerStreamWriter<T>
    where T : IMessage<T>
{
    private readonly ServerCallContext _context;
    private int _writing;

    public HttpContextStreamWriter(ServerCallContext context) => _context = context;

    public async Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            throw new InvalidOperationException("A write is already in progress; await each WriteAsync before the next.");
        }

        try
        {
            var token = cancellationToken.CanBeCanceled ? cancellationToken : _context.CancellationToken;
            token.ThrowIfCancellationRequested();
            _context.CancellationToken.ThrowIfCancellationRequested();
            _context.WriteMessage(message);
            var result = await _context.HttpContext.Response.BodyWriter.FlushAsync(token).ConfigureAwait(false);
            if (result.IsCanceled || _context.CancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(_context.CancellationToken);
            }
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }
}
