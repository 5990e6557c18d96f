using Grpc.Core;
using InferServe.Transport;
using InferServe.Transport.V1;
using Microsoft.Extensions.Logging;

namespace InferServe.Workers;

/// <summary>Where a worker started with --gateway announces itself, and the address it gives the gateway.</summary>
public sealed record WorkerRegistrationOptions(string Gateway, string AdvertiseAddress)
{
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Options of the client to the gateway: the worker-link credentials.</summary>
    public WorkerLinkOptions? Client { get; init; }
}

/// <summary>
/// Announces this worker to its gateway and repeats the announcement as a heartbeat, so a gateway that restarts
/// (or started after the worker) learns about it. A refusal (a different model or KV layout) is logged once per reason.
/// </summary>
public sealed class WorkerRegistration(WorkerRegistrationOptions options, Func<Task<WorkerInfo>> info, ILogger log) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    private async Task LoopAsync(CancellationToken ct)
    {
        using var channel = new WorkerChannel(options.Gateway, options.Client);
        string? lastProblem = null;
        bool accepted = false;
        while (!ct.IsCancellationRequested)
        {
            string? problem;
            try
            {
                var response = await channel.Registry.RegisterAsync(
                    new RegisterRequest { Address = options.AdvertiseAddress, Info = await info() }, deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
                problem = response.Accepted ? null : "the gateway refused this worker: " + response.Reason;
                if (response.Accepted && !accepted) log.LogInformation("Registered with gateway {Gateway} as {Address}", options.Gateway, options.AdvertiseAddress);
                accepted = response.Accepted;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or HttpRequestException or IOException or OperationCanceledException)
            {
                problem = $"gateway {options.Gateway} is unreachable ({(e is RpcException r ? r.Status.Detail : e.Message)}); retrying";
                accepted = false;
            }
            if (problem != lastProblem && problem is not null) log.LogError("{Problem}", problem);
            lastProblem = problem;
            try { await Task.Delay(options.Interval, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop is not null) await _loop;
        _stop.Dispose();
    }
}
