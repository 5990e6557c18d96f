using Grpc.Core;
using InferServe.Transport;
using InferServe.Transport.V1;
using Microsoft.Extensions.Logging;

namespace InferServe.Router;

/// <summary>
/// Keeps every worker's health, load and cached blocks current: a GetInfo handshake (identity and KV layout must
/// match the first compatible worker), then a Watch stream whose messages are the heartbeat. A broken stream
/// marks the worker down at once; it is retried with backoff and taken back when it answers again.
/// </summary>
public sealed class WorkerMonitor : IAsyncDisposable
{
    private readonly RouterOptions _options;
    private readonly WorkerLinkOptions? _client;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _gate = new();
    private WorkerInfo? _reference;

    private volatile WorkerEndpoint[] _prefill, _decode;

    public IReadOnlyList<WorkerEndpoint> Prefill => _prefill;
    public IReadOnlyList<WorkerEndpoint> Decode => _decode;
    public IEnumerable<WorkerEndpoint> All => Prefill.Concat(Decode);
    /// <summary>The identity every worker must share (the first compatible worker's), once one has answered.</summary>
    public WorkerInfo? Reference => Volatile.Read(ref _reference);
    /// <summary>Raised when a worker's health changes (metrics).</summary>
    public event Action<WorkerEndpoint>? HealthChanged;

    /// <param name="client">Options of the clients that call the workers: the worker-link credentials.</param>
    public WorkerMonitor(RouterOptions options, ILogger log, WorkerLinkOptions? client = null)
    {
        _options = options;
        _log = log;
        _client = client;
        _prefill = [.. options.PrefillWorkers.Select(a => new WorkerEndpoint(a, WorkerRole.Prefill, client))];
        _decode = [.. options.DecodeWorkers.Select(a => new WorkerEndpoint(a, WorkerRole.Decode, client))];
    }

    public void Start() => _loops.Add(Task.Run(() => StartAsync(_stop.Token)));

    /// <summary>
    /// The reference identity is the first worker in command-line order (prefill workers first) that answers the
    /// first round of handshakes, so which workers are refused does not depend on who answers fastest.
    /// </summary>
    private async Task StartAsync(CancellationToken ct)
    {
        var workers = All.ToList();
        var infos = await Task.WhenAll(workers.Select(async w =>
        {
            try { return await w.Client.GetInfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct); }
            catch (Exception e) when (e is RpcException or HttpRequestException or IOException or OperationCanceledException) { return null; }
        }));
        lock (_gate)
        {
            foreach (var (w, info) in workers.Zip(infos))
            {
                if (info is not null && info.Role == (w.Role == WorkerRole.Prefill ? "prefill" : "decode"))
                {
                    Volatile.Write(ref _reference, info);
                    break;
                }
            }
        }

        lock (_gate)
        {
            foreach (var w in workers) _loops.Add(Task.Run(() => WatchLoopAsync(w, ct)));
        }
    }

    /// <summary>
    /// A worker announcing itself (<c>--gateway</c>): refused with the reason when it does not match the others,
    /// else watched from now on like a listed worker. Repeated announcements are heartbeats and change nothing.
    /// </summary>
    public string? Register(string address, WorkerInfo info)
    {
        var role = info.Role switch
        {
            "prefill" => WorkerRole.Prefill,
            "decode" => WorkerRole.Decode,
            _ => (WorkerRole?)null,
        };
        if (role is null) return $"unknown role '{info.Role}'.";
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return $"'{address}' is not an address the gateway can reach; pass --advertise-address http://host:grpc-port.";
        var normalized = address.TrimEnd('/');
        if (All.Any(w => w.Address == normalized)) return null;
        var endpoint = new WorkerEndpoint(normalized, role.Value, _client);
        if (Incompatibility(endpoint, info) is { } why)
        {
            endpoint.Dispose();
            _log.LogError("Refusing {Worker}: {Problem}", endpoint, why);
            return why;
        }
        lock (_gate)
        {
            if (All.Any(w => w.Address == normalized))
            {
                endpoint.Dispose();
                return null;
            }
            if (role == WorkerRole.Prefill) _prefill = [.. _prefill, endpoint];
            else _decode = [.. _decode, endpoint];
            _log.LogInformation("{Worker} registered", endpoint);
            WorkerAdded?.Invoke(endpoint);
            _loops.Add(Task.Run(() => WatchLoopAsync(endpoint, _stop.Token)));
        }
        return null;
    }

    /// <summary>Raised when a worker registers itself (metrics).</summary>
    public event Action<WorkerEndpoint>? WorkerAdded;

    public IReadOnlyList<WorkerEndpoint> Healthy(WorkerRole role) => [.. (role == WorkerRole.Prefill ? Prefill : Decode).Where(w => w.Healthy)];

    /// <summary>Marks a worker down after a failed call; the watch loop takes it back when it answers.</summary>
    public void MarkDown(WorkerEndpoint worker, string problem)
    {
        if (!worker.Healthy) return;
        SetHealth(worker, false, problem);
    }

    private async Task WatchLoopAsync(WorkerEndpoint worker, CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var info = await worker.Client.GetInfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
                if (Incompatibility(worker, info) is { } why)
                {
                    if (worker.Problem != why) _log.LogError("Refusing {Worker}: {Problem}", worker, why);
                    worker.Problem = why;
                    SetHealth(worker, false, why);
                    await Task.Delay(TimeSpan.FromSeconds(5), ct);
                    continue;
                }
                worker.Info = info;
                using var call = worker.Client.Watch(
                    new WatchRequest { IntervalMs = (int)_options.HeartbeatInterval.TotalMilliseconds }, cancellationToken: ct);
                await foreach (var status in call.ResponseStream.ReadAllAsync(ct))
                {
                    worker.ApplyBlocks(status);
                    worker.Status = status;
                    if (status.Draining) SetHealth(worker, false, "draining");
                    else if (!worker.Healthy) SetHealth(worker, true, null);
                    backoff = TimeSpan.FromMilliseconds(200);
                }
                SetHealth(worker, false, "its heartbeat stream ended");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or HttpRequestException or IOException or OperationCanceledException)
            {
                SetHealth(worker, false, Describe(e));
            }
            worker.ForgetBlocks();
            try { await Task.Delay(backoff, ct); }
            catch (OperationCanceledException) { return; }
            backoff = TimeSpan.FromMilliseconds(Math.Min(2000, backoff.TotalMilliseconds * 2));
        }
    }

    private static string Describe(Exception e) => e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message;

    private string? Incompatibility(WorkerEndpoint worker, WorkerInfo info)
    {
        string expected = worker.Role == WorkerRole.Prefill ? "prefill" : "decode";
        if (info.Role != expected) return $"it runs as --role {info.Role} but is listed under --{expected}.";
        lock (_gate)
        {
            if (_reference is null)
            {
                Volatile.Write(ref _reference, info);
                return null;
            }
            var r = _reference;
            if (info.ModelFingerprint != r.ModelFingerprint)
                return $"it serves a different model or weight precision (fingerprint {Short(info.ModelFingerprint)}, weights {info.Weights}) than the other workers ({Short(r.ModelFingerprint)}, weights {r.Weights}).";
            if (info.BlockSize != r.BlockSize) return $"its --block-size is {info.BlockSize}; the other workers use {r.BlockSize}.";
            if (info.Weights != r.Weights) return $"its --weights is {info.Weights}; the other workers use {r.Weights}.";
            if (info.NumLayers != r.NumLayers || info.NumKvHeads != r.NumKvHeads || info.HeadDim != r.HeadDim)
                return "its KV layout (layers, KV heads, head size) differs from the other workers'.";
        }
        return null;
    }

    private static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] : fingerprint;

    private void SetHealth(WorkerEndpoint worker, bool healthy, string? problem)
    {
        bool changed = worker.Healthy != healthy;
        worker.Healthy = healthy;
        worker.Problem = problem;
        if (!changed) return;
        if (healthy) _log.LogInformation("{Worker} is up", worker);
        else _log.LogWarning("{Worker} is down: {Problem}", worker, problem);
        HealthChanged?.Invoke(worker);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        Task[] loops;
        lock (_gate) loops = [.. _loops];
        try { await Task.WhenAll(loops); } catch (Exception) { }
        lock (_gate) loops = [.. _loops];
        try { await Task.WhenAll(loops); } catch (Exception) { }
        foreach (var w in All) w.Dispose();
        _stop.Dispose();
    }
}
