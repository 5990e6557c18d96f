using InferServe.LoadTests.Clients;
using InferServe.LoadTests.Datasets;

namespace InferServe.LoadTests.Load;

/// <summary>
/// A named load: one API and dataset under one simulation, after a warm-up, for a duration or a request count
/// (whichever comes first; both are bounds). Requests started during warm-up are kept out of the statistics.
/// </summary>
public sealed record Scenario(string Name, ILlmClient Client, IDataset Dataset, LoadSimulation Simulation, double WarmupSeconds,
    double DurationSeconds, int? MaxRequests, int Seed)
{
    public string Describe() =>
        $"{Name}: {Client.Api}, {Simulation.Describe()}, {Dataset.Describe()}, warm-up {WarmupSeconds}s, " +
        $"{(MaxRequests is { } n ? $"{n} requests within " : "")}{DurationSeconds}s, seed {Seed}";
}
