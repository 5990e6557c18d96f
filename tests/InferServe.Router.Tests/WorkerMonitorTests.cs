using System.Threading.Channels;
using InferServe.Router.Tests.Support;
using InferServe.TestSupport;
using InferServe.Transport.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferServe.Router.Tests;

/// <summary>
/// How the gateway keeps track of its workers, against real workers on loopback: a worker that answers is taken in,
/// one that dies or drains is taken out at once, and one that answers again is taken back; a worker that does not
/// match the others is refused with the reason.
/// </summary>
public sealed class WorkerMonitorTests : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly Channel<(WorkerEndpoint Worker, bool Healthy, string? Problem)> _changes = Channel.CreateUnbounded<(WorkerEndpoint, bool, string?)>();

    private async Task<TestWorker> WorkerAsync(string role)
    {
        var worker = await TestWorker.StartAsync(role);
        _owned.Add(worker);
        return worker;
    }

    private WorkerMonitor Monitor(IEnumerable<string>? prefill = null, IEnumerable<string>? decode = null)
    {
        var monitor = new WorkerMonitor(
            new RouterOptions { PrefillWorkers = [.. prefill ?? []], DecodeWorkers = [.. decode ?? []], HeartbeatInterval = TimeSpan.FromMilliseconds(50) },
            NullLogger.Instance);
        monitor.HealthChanged += w => _changes.Writer.TryWrite((w, w.Healthy, w.Problem));
        _owned.Insert(0, monitor); // stopped before the workers it watches
        return monitor;
    }

    /// <summary>The next health change the monitor reports: the event itself, however long a loaded machine takes.</summary>
    private async Task<(WorkerEndpoint Worker, bool Healthy, string? Problem)> NextChangeAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Eventually.Generous);
        return await _changes.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>A worker listed under its own role and already taken in by a started monitor.</summary>
    private async Task<(TestWorker Worker, WorkerMonitor Monitor, WorkerEndpoint Endpoint)> WatchedWorkerAsync(string role)
    {
        var worker = await WorkerAsync(role);
        var monitor = role == "prefill" ? Monitor(prefill: [worker.Address]) : Monitor(decode: [worker.Address]);
        monitor.Start();
        var up = await NextChangeAsync();
        Assert.True(up.Healthy);
        return (worker, monitor, up.Worker);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_listed_worker_that_answers_is_taken_in_and_its_identity_becomes_the_reference()
    {
        var (worker, monitor, endpoint) = await WatchedWorkerAsync("decode");

        Assert.Same(endpoint, Assert.Single(monitor.Decode));
        Assert.Equal([endpoint], monitor.Healthy(WorkerRole.Decode));
        Assert.Empty(monitor.Healthy(WorkerRole.Prefill));
        Assert.Equal(worker.Service.Info(), monitor.Reference);
        Assert.Equal(worker.Service.Info(), endpoint.Info);
        Assert.NotNull(endpoint.Status);
        Assert.Null(endpoint.Problem);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_worker_that_dies_is_taken_out_at_once_and_taken_back_when_it_answers_again()
    {
        var (worker, monitor, endpoint) = await WatchedWorkerAsync("prefill");

        await worker.KillAsync();
        var down = await NextChangeAsync();
        Assert.Same(endpoint, down.Worker);
        Assert.False(down.Healthy);
        Assert.False(string.IsNullOrEmpty(down.Problem));
        Assert.Empty(monitor.Healthy(WorkerRole.Prefill));

        await worker.StartAsync();
        var up = await NextChangeAsync();
        Assert.True(up.Healthy);
        Assert.Same(endpoint, up.Worker);
        Assert.Equal([endpoint], monitor.Healthy(WorkerRole.Prefill));
        Assert.Null(endpoint.Problem);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_draining_worker_is_taken_out_of_rotation()
    {
        var (worker, monitor, _) = await WatchedWorkerAsync("decode");

        worker.Service.Drain();
        var down = await NextChangeAsync();
        Assert.False(down.Healthy);
        Assert.Equal("draining", down.Problem);
        Assert.Empty(monitor.Healthy(WorkerRole.Decode));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_worker_marked_down_after_a_failed_call_is_taken_back_by_its_next_heartbeat()
    {
        var (_, monitor, endpoint) = await WatchedWorkerAsync("decode");

        monitor.MarkDown(endpoint, "decode call failed");
        var down = await NextChangeAsync();
        Assert.False(down.Healthy);
        Assert.Equal("decode call failed", down.Problem);

        Assert.True((await NextChangeAsync()).Healthy); // the worker still answers
        Assert.Equal([endpoint], monitor.Healthy(WorkerRole.Decode));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_worker_listed_under_the_wrong_role_is_never_used_and_says_why()
    {
        var worker = await WorkerAsync("prefill");
        var monitor = Monitor(decode: [worker.Address]);
        monitor.Start();

        var endpoint = Assert.Single(monitor.Decode);
        await Eventually.WaitUntilAsync(() => endpoint.Problem is not null, () => "the worker was never judged");
        Assert.Contains("--role prefill", endpoint.Problem);
        Assert.False(endpoint.Healthy);
        Assert.Null(monitor.Reference); // a refused worker does not set the identity others must match
    }

    [Fact(Timeout = 60_000)]
    public async Task A_worker_that_registers_itself_is_watched_like_a_listed_one_and_announcing_again_changes_nothing()
    {
        var worker = await WorkerAsync("decode");
        var monitor = Monitor();
        var added = new TaskCompletionSource<WorkerEndpoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        monitor.WorkerAdded += w => added.TrySetResult(w);
        monitor.Start();

        Assert.Null(monitor.Register(worker.Address + "/", worker.Service.Info()));
        var endpoint = await added.Task.WaitAsync(Eventually.Generous, TestContext.Current.CancellationToken);
        Assert.Equal(worker.Address, endpoint.Address);
        var up = await NextChangeAsync();
        Assert.True(up.Healthy);
        Assert.Same(endpoint, up.Worker);

        Assert.Null(monitor.Register(worker.Address, worker.Service.Info())); // a heartbeat announcement
        Assert.Equal([endpoint], monitor.Decode);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_registering_worker_that_does_not_match_the_others_is_refused_with_the_reason()
    {
        var (worker, monitor, _) = await WatchedWorkerAsync("decode");
        var reference = worker.Service.Info();
        string elsewhere = $"http://127.0.0.1:{FreePorts.Next()}";

        Assert.Contains("different model", monitor.Register(elsewhere, Changed(reference, i => i.ModelFingerprint = "another-model")));
        Assert.Contains("--block-size", monitor.Register(elsewhere, Changed(reference, i => i.BlockSize *= 2)));
        Assert.Contains("KV layout", monitor.Register(elsewhere, Changed(reference, i => i.NumLayers += 1)));
        Assert.Contains("unknown role", monitor.Register(elsewhere, Changed(reference, i => i.Role = "janitor")));
        Assert.Contains("--advertise-address", monitor.Register("127.0.0.1:9", reference));
        Assert.Single(monitor.All);

        // Another --kv-dtype is no mismatch: a decode worker converts pulled blocks into its own dtype.
        Assert.Null(monitor.Register(elsewhere, Changed(reference, i => i.KvDtype = "int8")));
        Assert.Equal(2, monitor.All.Count());
    }

    private static WorkerInfo Changed(WorkerInfo info, Action<WorkerInfo> change)
    {
        var copy = info.Clone();
        change(copy);
        return copy;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
    }
}
