using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using InferServe.Engine.Kv;
using InferServe.Engine.Kv.Transfer;
using InferServe.Transport;
using InferServe.Transport.V1;

namespace InferServe.Workers;

/// <summary>Decode side of a KV transfer: streams a lease's blocks from the prefill worker straight into reserved blocks.</summary>
/// <param name="clientOptions">Options of the clients to prefill workers: the worker-link credentials.</param>
public sealed class KvPuller(WorkerMetrics metrics, TimeSpan timeout, WorkerLinkOptions? clientOptions = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, WorkerChannel> _clients = new(StringComparer.Ordinal);

    public async Task PullAsync(string source, string leaseId, int expectedBlocks, KvBlockSpans target, CancellationToken cancellationToken)
    {
        if (expectedBlocks != target.BlockCount)
            throw new InvalidDataException($"The prefill leased {expectedBlocks} blocks but this worker reserved {target.BlockCount}; block sizes differ.");
        var started = Stopwatch.GetTimestamp();
        // One channel per prefill worker, reused by every pull from it.
        var client = _clients.GetOrAdd(source, s => new WorkerChannel(s, clientOptions)).Worker;
        int received = 0;
        long bytes = 0;
        KvBlockConverter? converter = null;
        try
        {
            using var call = client.PullKv(new PullKvRequest { LeaseId = leaseId },
                deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (chunk.TotalBlocks != target.BlockCount || chunk.FirstBlock != received)
                    throw new InvalidDataException($"KV chunk [{chunk.FirstBlock}, +{chunk.NumBlocks}) of {chunk.TotalBlocks} does not follow block {received} of {target.BlockCount}.");
                target.Write(chunk.FirstBlock, chunk.Data.Span, SourceDType(chunk.KvDtype, target.DType), ref converter);
                received += chunk.NumBlocks;
                bytes += chunk.Data.Length;
            }
            if (received != target.BlockCount)
                throw new InvalidDataException($"The KV stream ended after {received} of {target.BlockCount} blocks.");
        }
        catch
        {
            metrics.TransferFailed();
            throw;
        }
        finally
        {
            converter?.Dispose();
        }
        metrics.Received(bytes, received, Stopwatch.GetElapsedTime(started));
    }

    private static KvDType SourceDType(string name, KvDType own)
    {
        if (name.Length == 0) return own;
        try
        {
            return KvCacheSpec.ParseDType(name);
        }
        catch (ArgumentException)
        {
            throw new InvalidDataException($"The prefill worker sent KV blocks of unknown dtype '{name}'.");
        }
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Dispose();
    }
}
