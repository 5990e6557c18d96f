using InferServe.Contracts;

namespace InferServe.Router.Routing;

/// <summary>What a policy sees of one request: the chained hashes of its full prompt blocks.</summary>
public readonly record struct RoutingRequest(IReadOnlyList<BlockHash> PrefixBlocks);

/// <summary>A worker choice and why it was made (the routing-decision metric's reason label).</summary>
public readonly record struct RoutingDecision(WorkerEndpoint Worker, string Reason);

/// <summary>Picks a worker among the healthy candidates (never empty).</summary>
public interface IRoutingPolicy
{
    string Name { get; }
    RoutingDecision Choose(IReadOnlyList<WorkerEndpoint> candidates, in RoutingRequest request);
}

/// <summary>Each worker in turn.</summary>
public sealed class RoundRobinPolicy : IRoutingPolicy
{
    private int _next = -1;
    public string Name => "round-robin";

    public RoutingDecision Choose(IReadOnlyList<WorkerEndpoint> candidates, in RoutingRequest request) =>
        new(candidates[(int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Count)], "turn");
}

/// <summary>The worker with the fewest outstanding and waiting requests; ties go round-robin.</summary>
public sealed class LeastLoadPolicy : IRoutingPolicy
{
    private int _tie = -1;
    public string Name => "least-load";

    public RoutingDecision Choose(IReadOnlyList<WorkerEndpoint> candidates, in RoutingRequest request) => new(LeastLoaded(candidates, ref _tie), "least_load");

    internal static WorkerEndpoint LeastLoaded(IReadOnlyList<WorkerEndpoint> candidates, ref int tie)
    {
        int start = (int)((uint)Interlocked.Increment(ref tie) % (uint)candidates.Count);
        var best = candidates[start];
        for (int i = 1; i < candidates.Count; i++)
        {
            var w = candidates[(start + i) % candidates.Count];
            if (w.Load < best.Load) best = w;
        }
        return best;
    }
}

/// <summary>
/// The worker holding the longest run of the prompt's leading blocks, unless it is busier than the least loaded
/// worker by more than the balance threshold (then load wins). With no cached prefix anywhere it is least-load.
/// </summary>
public sealed class CacheAwarePolicy(int balanceThreshold) : IRoutingPolicy
{
    private int _tie = -1;
    public string Name => "cache-aware";

    public RoutingDecision Choose(IReadOnlyList<WorkerEndpoint> candidates, in RoutingRequest request)
    {
        var least = LeastLoadPolicy.LeastLoaded(candidates, ref _tie);
        if (request.PrefixBlocks.Count == 0) return new(least, "least_load");
        WorkerEndpoint? best = null;
        int bestMatch = 0;
        foreach (var w in candidates)
        {
            int m = w.MatchedBlocks(request.PrefixBlocks);
            if (m > bestMatch || (m == bestMatch && best is not null && m > 0 && w.Load < best.Load))
            {
                best = w;
                bestMatch = m;
            }
        }
        if (best is null) return new(least, "no_prefix_hit");
        if (best.Load - least.Load > balanceThreshold) return new(least, "load_imbalance");
        return new(best, "prefix_hit");
    }
}

public static class RoutingPolicies
{
    public static IRoutingPolicy Create(string name, int balanceThreshold) => name.ToLowerInvariant() switch
    {
        "cache-aware" or "cache_aware" => new CacheAwarePolicy(balanceThreshold),
        "least-load" or "least_load" => new LeastLoadPolicy(),
        "round-robin" or "round_robin" => new RoundRobinPolicy(),
        _ => throw new ArgumentException($"Unknown routing policy '{name}'; use cache-aware, least-load or round-robin."),
    };
}
