using System.Buffers;

namespace InferServe.Metrics;

/// <summary>
/// A value that can go up and down: set directly, or bound to a callback that is evaluated at scrape time.
/// </summary>
public sealed class Gauge : Metric<Gauge.Child>
{
    internal Gauge(string name, string help, string[] labelNames)
        : base(name, help, "gauge", labelNames) { }

    public void Set(double value) => Unlabeled.Set(value);
    public void Inc(double by = 1) => Unlabeled.Inc(by);
    public void Dec(double by = 1) => Unlabeled.Dec(by);
    public void SetCallback(Func<double>? callback) => Unlabeled.SetCallback(callback);
    public double Value => Unlabeled.Value;

    private protected override Child CreateChild(string[] labelValues) =>
        new(Exposition.SeriesPrefix(Name, LabelNames, labelValues));

    internal override void WriteTo(IBufferWriter<byte> writer)
    {
        writer.Write(HeaderBytes);
        foreach (var child in Children)
            Exposition.WriteSample(writer, child.Prefix, child.Value);
    }

    public sealed class Child
    {
        internal readonly byte[] Prefix;
        private long _bits;
        private volatile Func<double>? _callback;

        internal Child(byte[] prefix) => Prefix = prefix;

        public void Set(double value) => AtomicDouble.Write(ref _bits, value);
        public void Inc(double by = 1) => AtomicDouble.Add(ref _bits, by);
        public void Dec(double by = 1) => AtomicDouble.Add(ref _bits, -by);

        /// <summary>
        /// While a callback is set, <see cref="Value"/> (and every scrape) evaluates it instead of the stored value.
        /// A callback that throws reads as NaN, so one broken source cannot fail the whole scrape.
        /// Pass null to go back to the stored value.
        /// </summary>
        public void SetCallback(Func<double>? callback) => _callback = callback;

        public double Value
        {
            get
            {
                var callback = _callback;
                if (callback is null) return AtomicDouble.Read(ref _bits);
                try { return callback(); }
                catch (Exception) { return double.NaN; }
            }
        }
    }
}
