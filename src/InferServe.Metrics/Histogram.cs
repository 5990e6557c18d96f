using Prom = Prometheus;

namespace InferServe.Metrics;

/// <summary>
/// Distribution of observations over fixed buckets (a prometheus-net histogram). Each observation increments one
/// bucket atomically; prometheus-net derives the cumulative "le" counts, _count and _sum at scrape time.
/// </summary>
public sealed class Histogram : Metric<Histogram.Child>
{
    private readonly Prom.Histogram _histogram;
    private readonly double[] _upperBounds;

    internal Histogram(Prom.Histogram histogram, string help, double[] upperBounds, string[] labelNames)
        : base(histogram.Name, help, labelNames)
    {
        _histogram = histogram;
        _upperBounds = upperBounds;
    }

    /// <summary>The finite upper bounds, ascending; the implicit +Inf bucket is not included.</summary>
    public IReadOnlyList<double> UpperBounds => _upperBounds;

    public void Observe(double value) => Unlabeled.Observe(value);

    private protected override Child CreateChild(string[] labelValues) => new(_histogram.WithLabels(labelValues));

    /// <summary>
    /// Finite, strictly increasing bounds. A trailing +Inf is accepted and dropped: the +Inf bucket is always exposed.
    /// Checked here (not only by prometheus-net) because NaN and infinities would slip through its ordering check.
    /// </summary>
    internal static double[] ValidateBounds(double[] upperBounds)
    {
        ArgumentNullException.ThrowIfNull(upperBounds);
        var bounds = upperBounds.Length > 0 && double.IsPositiveInfinity(upperBounds[^1]) ? upperBounds[..^1] : (double[])upperBounds.Clone();
        for (int i = 0; i < bounds.Length; i++)
        {
            if (!double.IsFinite(bounds[i]))
                throw new ArgumentException("Histogram bucket bounds must be finite (+Inf is implicit).", nameof(upperBounds));
            if (i > 0 && !(bounds[i] > bounds[i - 1]))
                throw new ArgumentException("Histogram bucket bounds must be strictly increasing.", nameof(upperBounds));
        }
        return bounds;
    }

    /// <summary>One labelled series. <see cref="Observe(double)"/> takes no lock and allocates nothing.</summary>
    public sealed class Child
    {
        private readonly Prom.Histogram.Child _series;

        internal Child(Prom.Histogram.Child series) => _series = series;

        /// <summary>Counts the value in the first bucket whose upper bound is &gt;= value. NaN is ignored (it would poison _sum).</summary>
        public void Observe(double value) => _series.Observe(value);

        public void Observe(TimeSpan duration) => Observe(duration.TotalSeconds);

        /// <summary>Total number of observations (equals the +Inf bucket).</summary>
        public long Count => _series.Count;

        public double Sum => _series.Sum;
    }
}
