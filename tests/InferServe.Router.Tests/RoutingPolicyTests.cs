using InferServe.Contracts;
using InferServe.Router.Routing;

namespace InferServe.Router.Tests;

/// <summary>Where the gateway sends a prompt: each policy's choice and the reason it reports.</summary>
public sealed class RoutingPolicyTests : IDisposable
{
    private readonly WorkerEndpoint _a = new("http://127.0.0.1:1", WorkerRole.Prefill);
    private readonly WorkerEndpoint _b = new("http://127.0.0.1:2", WorkerRole.Prefill);
    private readonly WorkerEndpoint _c = new("http://127.0.0.1:3", WorkerRole.Prefill);
    private static readonly BlockHash Salt = BlockHash.Salt("test");

    private WorkerEndpoint[] All => [_a, _b, _c];

    private static BlockHash[] Chain(params int[] blockFirstTokens)
    {
        var hashes = new BlockHash[blockFirstTokens.Length];
        var parent = Salt;
        for (int i = 0; i < hashes.Length; i++) parent = hashes[i] = BlockHash.Of(parent, [blockFirstTokens[i], 1, 2, 3], Salt);
        return hashes;
    }

    private static List<IDisposable> Load(WorkerEndpoint worker, int requests) => [.. Enumerable.Range(0, requests).Select(_ => worker.Track())];

    [Fact]
    public void Round_robin_takes_each_worker_in_turn()
    {
        var policy = new RoundRobinPolicy();
        var chosen = Enumerable.Range(0, 6).Select(_ => policy.Choose(All, new RoutingRequest([])).Worker).ToList();
        Assert.Equal([_a, _b, _c, _a, _b, _c], chosen);
        Assert.Equal("turn", policy.Choose(All, new RoutingRequest([])).Reason);
    }

    [Fact]
    public void Least_load_takes_the_worker_with_the_fewest_requests_in_flight()
    {
        var held = Load(_a, 2).Concat(Load(_c, 1)).ToList();
        var policy = new LeastLoadPolicy();
        for (int i = 0; i < 4; i++) Assert.Equal(_b, policy.Choose(All, new RoutingRequest([])).Worker);
        held.ForEach(h => h.Dispose());
    }

    [Fact]
    public void Least_load_spreads_ties_instead_of_always_taking_the_first()
    {
        var policy = new LeastLoadPolicy();
        var chosen = Enumerable.Range(0, 30).Select(_ => policy.Choose(All, new RoutingRequest([])).Worker).Distinct().Count();
        Assert.Equal(3, chosen);
    }

    [Fact]
    public void Cache_aware_takes_the_worker_holding_the_longest_run_of_the_prompts_leading_blocks()
    {
        var prompt = Chain(10, 11, 12, 13);
        _a.AddRouted(prompt[..1]);
        _b.AddRouted(prompt[..3]);
        _c.AddRouted([prompt[0], prompt[3]]); // a later block alone does not count: the run must start at the first
        var decision = new CacheAwarePolicy(balanceThreshold: 8).Choose(All, new RoutingRequest(prompt));
        Assert.Equal((_b, "prefix_hit"), (decision.Worker, decision.Reason));
    }

    [Fact]
    public void Cache_aware_gives_way_to_load_when_the_holder_is_too_busy()
    {
        var prompt = Chain(20, 21);
        _a.AddRouted(prompt);
        using var busy = new CompositeDisposable(Load(_a, 5));
        var policy = new CacheAwarePolicy(balanceThreshold: 4);
        var decision = policy.Choose(All, new RoutingRequest(prompt));
        Assert.NotEqual(_a, decision.Worker);
        Assert.Equal("load_imbalance", decision.Reason);
    }

    [Fact]
    public void Cache_aware_without_a_hit_or_without_full_blocks_is_least_load()
    {
        using var busy = new CompositeDisposable(Load(_a, 1).Concat(Load(_b, 1)));
        var policy = new CacheAwarePolicy(balanceThreshold: 4);
        Assert.Equal((_c, "no_prefix_hit"), Tuple(policy.Choose(All, new RoutingRequest(Chain(30)))));
        Assert.Equal((_c, "least_load"), Tuple(policy.Choose(All, new RoutingRequest([]))));
    }

    [Fact]
    public void Policies_are_chosen_by_name_and_an_unknown_name_says_which_exist()
    {
        Assert.IsType<CacheAwarePolicy>(RoutingPolicies.Create("cache-aware", 4));
        Assert.IsType<LeastLoadPolicy>(RoutingPolicies.Create("least_load", 4));
        Assert.IsType<RoundRobinPolicy>(RoutingPolicies.Create("Round-Robin", 4));
        var error = Assert.Throws<ArgumentException>(() => RoutingPolicies.Create("random", 4));
        Assert.Contains("cache-aware, least-load or round-robin", error.Message);
    }

    private static (WorkerEndpoint, string) Tuple(RoutingDecision d) => (d.Worker, d.Reason);

    private sealed class CompositeDisposable(IEnumerable<IDisposable> items) : IDisposable
    {
        private readonly List<IDisposable> _items = [.. items];
        public void Dispose() => _items.ForEach(i => i.Dispose());
    }

    public void Dispose()
    {
        foreach (var w in All) w.Dispose();
    }
}
