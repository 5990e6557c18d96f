namespace InferServe.Metrics;

/// <summary>A metric family: one name, HELP and TYPE, and any number of labelled series (a prometheus-net collector).</summary>
public abstract class Metric
{
    private protected Metric(string name, string help, string[] labelNames)
    {
        Name = name;
        Help = help;
        LabelNames = labelNames;
    }

    /// <summary>The family name as exposed (for counters this includes the "_total" suffix).</summary>
    public string Name { get; }

    public string Help { get; }

    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>Runs before each scrape: callback metrics read their sources here.</summary>
    internal virtual void BeforeCollect() { }

    internal virtual void OnRegistered() { }
}

/// <summary>
/// A metric family whose series are children keyed by label values. Children are created once
/// (under a lock) and then returned from a lock-free dictionary; callers on hot paths cache them.
/// </summary>
public abstract class Metric<TChild> : Metric where TChild : class
{
    private readonly Dictionary<string[], TChild> _byValues = new(LabelValuesComparer.Instance);
    private readonly Lock _createLock = new();
    // Copy-on-write snapshots, so lookups and the pre-scrape pass never lock.
    private volatile TChild[] _children = [];
    private volatile Dictionary<string[], TChild> _readOnly = new(LabelValuesComparer.Instance);
    private TChild? _unlabeled;

    private protected Metric(string name, string help, string[] labelNames)
        : base(name, help, labelNames) { }

    /// <summary>An unlabelled family has exactly one series, created (and exposed as 0) on registration.</summary>
    internal override void OnRegistered()
    {
        if (LabelNames.Count == 0)
            _unlabeled = GetOrCreate([]);
    }

    /// <summary>
    /// The series for these label values (in the order of <see cref="Metric.LabelNames"/>), created on first use.
    /// Look it up once and keep it: this does a dictionary lookup.
    /// </summary>
    public TChild WithLabels(params string[] labelValues)
    {
        ArgumentNullException.ThrowIfNull(labelValues);
        if (labelValues.Length != LabelNames.Count)
        {
            throw new ArgumentException(
                $"Metric '{Name}' has {LabelNames.Count} label(s) [{string.Join(", ", LabelNames)}] but got {labelValues.Length} value(s).",
                nameof(labelValues));
        }

        return _readOnly.TryGetValue(labelValues, out var child) ? child : GetOrCreate(labelValues);
    }

    /// <summary>The single series of a family declared without labels.</summary>
    private protected TChild Unlabeled => _unlabeled ??
        throw new InvalidOperationException($"Metric '{Name}' has labels [{string.Join(", ", LabelNames)}]; use WithLabels(...).");

    private protected ReadOnlySpan<TChild> Children => _children;

    private protected abstract TChild CreateChild(string[] labelValues);

    private TChild GetOrCreate(string[] labelValues)
    {
        foreach (var v in labelValues)
            ArgumentNullException.ThrowIfNull(v, nameof(labelValues));
        lock (_createLock)
        {
            if (_byValues.TryGetValue(labelValues, out var existing))
                return existing;
            var key = (string[])labelValues.Clone(); // the caller may reuse its array
            var child = CreateChild(key);
            _byValues.Add(key, child);
            _readOnly = new Dictionary<string[], TChild>(_byValues, LabelValuesComparer.Instance);
            _children = [.. _children, child];
            return child;
        }
    }

    private sealed class LabelValuesComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelValuesComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] values)
        {
            var hash = new HashCode();
            foreach (var v in values) hash.Add(v, StringComparer.Ordinal);
            return hash.ToHashCode();
        }
    }
}
