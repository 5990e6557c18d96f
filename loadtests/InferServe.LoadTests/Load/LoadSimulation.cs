namespace InferServe.LoadTests.Load;

/// <summary>How requests are issued: open loop (arrival times, whatever the server's speed) or closed loop (fixed concurrency).</summary>
public abstract record LoadSimulation
{
    public abstract string Describe();

    /// <summary>The value a sweep varies (req/s or concurrency), for the throughput–latency curve.</summary>
    public abstract double Level { get; }
}

/// <summary>
/// Constant rate with gamma-distributed gaps: burstiness 1 is a Poisson process, below 1 burstier, above 1 more
/// regular (vLLM's --burstiness).
/// </summary>
public sealed record ConstantRate(double Rate, double Burstiness = 1) : LoadSimulation
{
    public override string Describe() => Burstiness == 1 ? $"rate {Rate} req/s, Poisson" : $"rate {Rate} req/s, gamma burstiness {Burstiness}";

    public override double Level => Rate;

    public double NextGap(Random rng) => Gamma.Sample(rng, Burstiness, 1 / (Rate * Burstiness));
}

/// <summary>Rate rising linearly from 0 to <see cref="Peak"/>, held, then falling back to 0 (Poisson arrivals).</summary>
public sealed record RampRate(double Peak, double Up, double Hold, double Down) : LoadSimulation
{
    public override string Describe() => $"ramp to {Peak} req/s: up {Up}s, hold {Hold}s, down {Down}s";

    public override double Level => Peak;

    public double Total => Up + Hold + Down;

    public double RateAt(double t) =>
        t < 0 || t >= Total ? 0 : t < Up ? Peak * t / Up : t < Up + Hold ? Peak : Peak * (Total - t) / Math.Max(Down, 1e-9);

    /// <summary>Next arrival after <paramref name="t"/> by thinning a Poisson process of the peak rate; null past the end.</summary>
    public double? NextArrival(Random rng, double t)
    {
        for (int i = 0; i < 1_000_000; i++)
        {
            t += -Math.Log(1 - rng.NextDouble()) / Peak;
            if (t >= Total) return null;
            if (rng.NextDouble() * Peak <= RateAt(t)) return t;
        }
        return null;
    }
}

/// <summary>Closed loop: this many requests in flight, each followed at once by the next.</summary>
public sealed record FixedConcurrency(int Concurrency) : LoadSimulation
{
    public override string Describe() => $"concurrency {Concurrency}";

    public override double Level => Concurrency;
}

internal static class Gamma
{
    /// <summary>Marsaglia–Tsang; shape below 1 by the U^(1/shape) boost.</summary>
    public static double Sample(Random rng, double shape, double scale)
    {
        if (shape < 1) return Sample(rng, shape + 1, scale) * Math.Pow(rng.NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        for (int i = 0; i < 10_000; i++)
        {
            double x = Normal(rng), v = Math.Pow(1 + c * x, 3);
            if (v <= 0) continue;
            double u = rng.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v * scale;
        }
        return shape * scale;
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
