using InferServe.Metrics;

namespace InferServe.Router;

/// <summary>Gateway metrics: routing decisions by policy, role and reason, and each worker's health.</summary>
public sealed class RouterMetrics
{
    private readonly Counter _decisions;
    private readonly Gauge _health;
    private readonly Counter _failovers;

    public RouterMetrics(MetricRegistry registry)
    {
        _decisions = registry.CreateCounter("inferserve_router_decisions", "Requests routed, by policy, worker role and reason.", "policy", "role", "reason");
        _health = registry.CreateGauge("inferserve_worker_healthy", "1 while the worker answers its heartbeat and matches the others, else 0.", "worker", "role");
        _failovers = registry.CreateCounter("inferserve_router_failovers", "Work moved off a failed worker, by role and what was done.", "role", "action");
    }

    public void Decision(string policy, WorkerRole role, string reason) => _decisions.WithLabels(policy, Name(role), reason).Inc();

    public void Health(WorkerEndpoint worker) => _health.WithLabels(worker.Address, Name(worker.Role)).Set(worker.Healthy ? 1 : 0);

    public void Failover(WorkerRole role, string action) => _failovers.WithLabels(Name(role), action).Inc();

    private static string Name(WorkerRole role) => role == WorkerRole.Prefill ? "prefill" : "decode";
}
