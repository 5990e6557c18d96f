using Prom = Prometheus;

namespace InferServe.Metrics;

/// <summary>
/// Static information exposed the Prometheus way: a gauge whose single series has value 1 and carries the
/// information in its labels (e.g. "cache_config_info{block_size="16",...} 1"). Set replaces the series.
/// </summary>
public sealed class InfoMetric : Metric
{
    private readonly Prom.Gauge _gauge;
    private readonly Lock _lock = new();
    private Prom.Gauge.Child? _series;

    internal InfoMetric(Prom.Gauge gauge, string help, string[] labelNames)
        : base(gauge.Name, help, labelNames) => _gauge = gauge;

    /// <summary>Sets the label values (in <see cref="Metric.LabelNames"/> order); until called nothing is exposed.</summary>
    public void Set(params string[] labelValues)
    {
        ArgumentNullException.ThrowIfNull(labelValues);
        if (labelValues.Length != LabelNames.Count)
            throw new ArgumentException($"Info metric '{Name}' has {LabelNames.Count} label(s) but got {labelValues.Length} value(s).", nameof(labelValues));
        foreach (var v in labelValues) ArgumentNullException.ThrowIfNull(v, nameof(labelValues));
        lock (_lock)
        {
            _series?.Remove();
            _series = _gauge.WithLabels(labelValues);
            _series.Set(1);
        }
    }
}
