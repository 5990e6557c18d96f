using System.Buffers;

namespace InferServe.Metrics;

/// <summary>
/// Distribution of observations over fixed buckets. Each observation increments exactly one (non-cumulative)
/// bucket atomically; the cumulative "le" counts, _count and _sum are derived at scrape time.
/// </summary>
public sealed class Histogram : Metric<Histogram.Child>
{
    private readonly double[] _upperBounds;

    internal Histogram(string name, string help, double[] upperBounds, string[] labelNames)
        : base(name, help, "histogram", labelNames)
    {
        _upperBounds = ValidateBounds(upperBounds);
    }

    /// <summary>The finite upper bounds, ascending; the implicit +Inf bucket is not included.</summary>
    public IReadOnlyList<double> UpperBounds => _upperBounds;

    public void Observe(double value) => Unlabeled.Observe(value);

    private protected override Child CreateChild(string[] labelValues)
    {
        var bucketPrefixes = new byte[_upperBounds.Length + 1][];
        for (int i = 0; i < _upperBounds.Length; i++)
            bucketPrefixes[i] = Exposition.SeriesPrefix(Name + "_bucket", LabelNames, labelValues, "le", Exposition.FormatDouble(_upperBounds[i]));
        bucketPrefixes[^1] = Exposition.SeriesPrefix(Name + "_bucket", LabelNames, labelValues, "le", "+Inf");
        return new Child(_upperBounds, bucketPrefixes,
            Exposition.SeriesPrefix(Name + "_sum", LabelNames, labelValues),
            Exposition.SeriesPrefix(Name + "_count", LabelNames, labelValues));
    }

    internal override void WriteTo(IBufferWriter<byte> writer)
    {
        writer.Write(HeaderBytes);
        foreach (var child in Children)
            child.WriteTo(writer);
    }

    private static double[] ValidateBounds(double[] upperBounds)
    {
        ArgumentNullException.ThrowIfNull(upperBounds);
        // A trailing +Inf is accepted and dropped: the +Inf bucket is always exposed.
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

    /// <summary>One labelled series. <see cref="Observe"/> takes no lock and allocates nothing.</summary>
    public sealed class Child
    {
        private readonly double[] _upperBounds;
        private readonly long[] _bucketCounts; // non-cumulative; last is the +Inf bucket
        private long _sumBits;
        private readonly byte[][] _bucketPrefixes;
        private readonly byte[] _sumPrefix;
        private readonly byte[] _countPrefix;

        internal Child(double[] upperBounds, byte[][] bucketPrefixes, byte[] sumPrefix, byte[] countPrefix)
        {
            _upperBounds = upperBounds;
            _bucketCounts = new long[upperBounds.Length + 1];
            _bucketPrefixes = bucketPrefixes;
            _sumPrefix = sumPrefix;
            _countPrefix = countPrefix;
        }

        /// <summary>
        /// Counts the value in the first bucket whose upper bound is &gt;= value. NaN is ignored: it would make
        /// _sum NaN for the rest of the process lifetime.
        /// </summary>
        public void Observe(double value)
        {
            if (double.IsNaN(value)) return;
            Interlocked.Increment(ref _bucketCounts[BucketIndex(value)]);
            AtomicDouble.Add(ref _sumBits, value);
        }

        public void Observe(TimeSpan duration) => Observe(duration.TotalSeconds);

        /// <summary>Total number of observations (equals the +Inf bucket).</summary>
        public long Count
        {
            get
            {
                long total = 0;
                for (int i = 0; i < _bucketCounts.Length; i++) total += Volatile.Read(ref _bucketCounts[i]);
                return total;
            }
        }

        public double Sum => AtomicDouble.Read(ref _sumBits);

        /// <summary>Cumulative count per bucket, "le" order, ending with +Inf.</summary>
        public long[] CumulativeCounts()
        {
            var result = new long[_bucketCounts.Length];
            long running = 0;
            for (int i = 0; i < result.Length; i++) result[i] = running += Volatile.Read(ref _bucketCounts[i]);
            return result;
        }

        private int BucketIndex(double value)
        {
            // Lower-bound binary search: first i with bounds[i] >= value; bounds.Length means +Inf.
            var bounds = _upperBounds;
            int lo = 0, hi = bounds.Length;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (bounds[mid] < value) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        internal void WriteTo(IBufferWriter<byte> writer)
        {
            // Read sum first; _count is derived from the same bucket reads as the buckets, so +Inf == _count always.
            double sum = Sum;
            long running = 0;
            for (int i = 0; i < _bucketCounts.Length; i++)
            {
                running += Volatile.Read(ref _bucketCounts[i]);
                Exposition.WriteSample(writer, _bucketPrefixes[i], running);
            }
            Exposition.WriteSample(writer, _sumPrefix, sum);
            Exposition.WriteSample(writer, _countPrefix, running);
        }
    }
}
