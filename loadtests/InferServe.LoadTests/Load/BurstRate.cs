namespace InferServe.LoadTests.Load;

/// <summary>
/// A steady Poisson rate with one burst at <see cref="Peak"/> req/s from <see cref="At"/> for <see cref="Length"/>
/// seconds (scenario time, warm-up included): meant to overflow the server's queue and watch it recover.
/// </summary>
public sealed record BurstRate(double Base, double Peak, double At, double Length) : LoadSimulation
{
    public override string Describe() => $"{Base} req/s with a burst of {Peak} req/s at {At}s for {Length}s";

    public override double Level => Peak;

    public double RateAt(double t) => t >= At && t < At + Length ? Peak : Base;

    /// <summary>Next arrival after <paramref name="t"/>, thinning a Poisson process of the larger rate.</summary>
    public double? NextArrival(Random rng, double t)
    {
        double max = Math.Max(Base, Peak);
        for (int i = 0; i < 1_000_000; i++)
        {
            t += -Math.Log(1 - rng.NextDouble()) / max;
            if (rng.NextDouble() * max <= RateAt(t)) return t;
        }
        return null;
    }
}
