using System.Buffers;

namespace InferServe.Metrics;

/// <summary>A monotonically increasing value, exposed as "&lt;name&gt;_total".</summary>
public sealed class Counter : Metric<Counter.Child>
{
    internal Counter(string name, string help, string[] labelNames)
        : base(name, help, "counter", labelNames) { }

    /// <summary>Increments the unlabelled series.</summary>
    public void Inc(long by = 1) => Unlabeled.Inc(by);

    public void Inc(double by) => Unlabeled.Inc(by);

    public double Value => Unlabeled.Value;

    private protected override Child CreateChild(string[] labelValues) =>
        new(Exposition.SeriesPrefix(Name, LabelNames, labelValues));

    internal override void WriteTo(IBufferWriter<byte> writer)
    {
        writer.Write(HeaderBytes);
        foreach (var child in Children)
            Exposition.WriteSample(writer, child.Prefix, child.Value);
    }

    /// <summary>One labelled series. Increments are a single interlocked add: no locks, no allocation.</summary>
    public sealed class Child
    {
        internal readonly byte[] Prefix;
        // Whole increments (the per-token case) use Interlocked.Add; fractional ones a CAS loop on double bits.
        private long _whole;
        private long _fractionBits;

        internal Child(byte[] prefix) => Prefix = prefix;

        public void Inc(long by = 1)
        {
            if (by < 0) throw new ArgumentOutOfRangeException(nameof(by), by, "Counters can only increase.");
            Interlocked.Add(ref _whole, by);
        }

        public void Inc(double by)
        {
            if (!(by >= 0)) throw new ArgumentOutOfRangeException(nameof(by), by, "Counters can only increase.");
            AtomicDouble.Add(ref _fractionBits, by);
        }

        public double Value => Volatile.Read(ref _whole) + AtomicDouble.Read(ref _fractionBits);
    }
}
