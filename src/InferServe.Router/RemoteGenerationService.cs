using InferServe.Contracts;
using InferServe.Metrics;
using InferServe.Router.Routing;
using InferServe.Tokenization;
using Microsoft.Extensions.Logging;

namespace InferServe.Router;

/// <summary>
/// The gateway's generation service: validates a request against the workers' model, routes its prefill by
/// cached prefix and load, and its decode by load, and streams the workers' events as one request's.
/// </summary>
public sealed class RemoteGenerationService : IGenerationService, IReadinessProbe, IAsyncDisposable
{
    private readonly RouterOptions _options;
    private readonly ILogger _log;
    private int _inFlight;

    public ITokenizer Tokenizer { get; }
    public WorkerMonitor Workers { get; }
    public IRoutingPolicy PrefillPolicy { get; }
    public IRoutingPolicy DecodePolicy { get; }
    internal RouterMetrics Metrics { get; }
    internal ILogger Log => _log;
    internal RouterOptions Options => _options;

    /// <param name="workerClient">Options of the gateway's clients to the workers (worker-link credentials).</param>
    public RemoteGenerationService(RouterOptions options, ITokenizer tokenizer, MetricRegistry registry, ILogger log, InferServe.Transport.WorkerLinkOptions? workerClient = null)
    {
        foreach (var url in options.PrefillWorkers.Concat(options.DecodeWorkers))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new ArgumentException($"'{url}' is not a worker address; use http://host:port (the worker's --grpc-port).");
        }

        _options = options;
        _log = log;
        Tokenizer = tokenizer;
        PrefillPolicy = RoutingPolicies.Create(options.Policy, options.BalanceThreshold);
        // Decode placement balances load: the prompt's KV arrives with the request, so a decode worker's cache does not help it.
        DecodePolicy = new LeastLoadPolicy();
        Metrics = new RouterMetrics(registry);
        Workers = new WorkerMonitor(options, log, workerClient);
        Workers.HealthChanged += Metrics.Health;
        Workers.WorkerAdded += Metrics.Health;
        foreach (var w in Workers.All) Metrics.Health(w);
        Workers.Start();
    }

    public ModelFacts Facts
    {
        get
        {
            var r = Workers.Reference ?? throw new ServiceUnavailableException(NotReadyReason());
            int blocks = int.MaxValue, seqs = int.MaxValue;
            foreach (var w in Workers.All)
            {
                if (w.Info is { } info && w.Problem is null)
                {
                    blocks = Math.Min(blocks, info.TotalBlocks);
                    seqs = Math.Min(seqs, info.MaxSeqs);
                }
            }

            if (blocks == int.MaxValue) (blocks, seqs) = (r.TotalBlocks, r.MaxSeqs);
            return new ModelFacts(r.Architecture, r.VocabSize, r.MaxContext, r.HasBosTokenId ? r.BosTokenId : null, [.. r.EosTokenIds], r.BlockSize, blocks, seqs);
        }
    }

    public EngineStats Stats
    {
        get
        {
            int running = 0, waiting = 0, total = 0, free = 0;
            foreach (var w in Workers.Decode)
            {
                if (w.Healthy && w.Status is { } s)
                {
                    running += s.Running;
                    waiting += s.Waiting;
                    total += s.TotalBlocks;
                    free += s.FreeBlocks;
                }
            }

            return new EngineStats(running, waiting, total, free, Workers.Reference?.BlockSize ?? 0, 0, 0, 0, 0, 0, 0);
        }
    }

    /// <summary>
    /// Ready while a decode worker can take requests: without a prefill worker the decode workers prefill
    /// themselves, so that is degraded (named in <paramref name="reason"/>), not down.
    /// </summary>
    public bool IsReady(out string reason)
    {
        if (Workers.Healthy(WorkerRole.Decode).Count == 0)
        {
            reason = NotReadyReason();
            return false;
        }
        var degraded = new List<string>();
        if (Workers.Prefill.Count > 0 && Workers.Healthy(WorkerRole.Prefill).Count == 0) degraded.Add("no healthy prefill worker: decode workers prefill prompts themselves");
        degraded.AddRange(Workers.All.Where(w => !w.Healthy).Select(w => $"{w}: {w.Problem ?? "not connected yet"}"));
        reason = string.Join("; ", degraded);
        return true;
    }

    private string NotReadyReason()
    {
        var problems = new List<string>();
        if (Workers.Prefill.Count > 0 && Workers.Healthy(WorkerRole.Prefill).Count == 0) problems.Add("no healthy prefill worker");
        if (Workers.Healthy(WorkerRole.Decode).Count == 0) problems.Add("no healthy decode worker");
        if (problems.Count == 0) return "ready";
        var details = Workers.All.Where(w => !w.Healthy).Select(w => $"{w}: {w.Problem ?? "not connected yet"}");
        return string.Join("; ", problems) + " (" + string.Join("; ", details) + ")";
    }

    public IGenerationStream Submit(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        RequestValidator.Validate(request, Facts);
        if (request.PromptLogprobs is not null)
            throw new InvalidRequestException("Prompt logprobs (echo with logprobs) are not supported by --role gateway yet: the prompt runs on a prefill worker.", "echo");
        if (Workers.Healthy(WorkerRole.Decode).Count == 0) throw new ServiceUnavailableException(NotReadyReason());
        if (Interlocked.Increment(ref _inFlight) > _options.MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new EngineOverloadedException($"The gateway has {_options.MaxInFlight} requests in flight; retry later.");
        }
        var generation = new RemoteGeneration(this, request, () => Interlocked.Decrement(ref _inFlight));
        generation.Start(cancellationToken);
        return generation;
    }

    public ValueTask DisposeAsync() => Workers.DisposeAsync();
}
