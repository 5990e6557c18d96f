namespace InferServe.LoadTests.Metrics;

/// <summary>Mean, median, p90, p99 and max of a sample, in the sample's unit. Count 0 gives NaN everywhere.</summary>
public sealed record Distribution(int Count, double Mean, double Median, double P90, double P99, double Max)
{
    public static Distribution Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        return new(sorted.Length, sorted.Average(), Percentile(sorted, 50), Percentile(sorted, 90), Percentile(sorted, 99), sorted[^1]);
    }

    /// <summary>Linear interpolation between closest ranks (numpy's default, which vLLM's reports use).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
