using Prom = Prometheus;

namespace InferServe.Metrics;

/// <summary>
/// A value that can go up and down (a prometheus-net gauge): set directly, or bound to a callback that is evaluated
/// just before each scrape.
/// </summary>
public sealed class Gauge : Metric<Gauge.Child>
{
    private readonly Prom.Gauge _gauge;

    internal Gauge(Prom.Gauge gauge, string help, string[] labelNames)
        : base(gauge.Name, help, labelNames) => _gauge = gauge;

    public void Set(double value) => Unlabeled.Set(value);
    public void Inc(double by = 1) => Unlabeled.Inc(by);
    public void Dec(double by = 1) => Unlabeled.Dec(by);
    public void SetCallback(Func<double>? callback) => Unlabeled.SetCallback(callback);
    public double Value => Unlabeled.Value;

    private protected override Child CreateChild(string[] labelValues) => new(_gauge.WithLabels(labelValues));

    internal override void BeforeCollect()
    {
        foreach (var child in Children)
            child.Refresh();
    }

    public sealed class Child
    {
        private readonly Prom.Gauge.Child _series;
        private volatile Func<double>? _callback;

        internal Child(Prom.Gauge.Child series) => _series = series;

        public void Set(double value) => _series.Set(value);
        public void Inc(double by = 1) => _series.Inc(by);
        public void Dec(double by = 1) => _series.Dec(by);

        /// <summary>
        /// While a callback is set, <see cref="Value"/> (and every scrape) evaluates it instead of the stored value.
        /// A callback that throws reads as NaN, so one broken source cannot fail the whole scrape.
        /// Pass null to go back to Set/Inc/Dec (the series keeps the callback's last scraped value until then).
        /// </summary>
        public void SetCallback(Func<double>? callback) => _callback = callback;

        public double Value => _callback is { } callback ? Evaluate(callback) : _series.Value;

        /// <summary>Copies the callback's value into the series, so the scrape that follows exposes it.</summary>
        internal void Refresh()
        {
            if (_callback is { } callback) _series.Set(Evaluate(callback));
        }

        private static double Evaluate(Func<double> callback)
        {
            try { return callback(); }
            catch (Exception) { return double.NaN; }
        }
    }
}
