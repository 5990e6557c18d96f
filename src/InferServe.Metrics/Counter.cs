using Prom = Prometheus;

namespace InferServe.Metrics;

/// <summary>A monotonically increasing value, exposed as "&lt;name&gt;_total" (a prometheus-net counter).</summary>
public sealed class Counter : Metric<Counter.Child>
{
    private readonly Prom.Counter _counter;

    internal Counter(Prom.Counter counter, string help, string[] labelNames)
        : base(counter.Name, help, labelNames) => _counter = counter;

    /// <summary>Increments the unlabelled series.</summary>
    public void Inc(long by = 1) => Unlabeled.Inc(by);

    public void Inc(double by) => Unlabeled.Inc(by);

    public double Value => Unlabeled.Value;

    private protected override Child CreateChild(string[] labelValues) => new(_counter.WithLabels(labelValues));

    /// <summary>One labelled series: an interlocked add on the prometheus-net child, no lock or allocation.</summary>
    public sealed class Child
    {
        private readonly Prom.Counter.Child _series;

        internal Child(Prom.Counter.Child series) => _series = series;

        public void Inc(long by = 1)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(by);
            _series.Inc(by);
        }

        public void Inc(double by)
        {
            if (!(by >= 0)) throw new ArgumentOutOfRangeException(nameof(by), by, "Counters can only increase.");
            _series.Inc(by);
        }

        public double Value => _series.Value;
    }
}
