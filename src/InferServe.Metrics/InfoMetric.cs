using System.Buffers;

namespace InferServe.Metrics;

/// <summary>
/// Static information exposed the Prometheus way: a gauge whose single series has value 1 and carries the
/// information in its labels (e.g. "cache_config_info{block_size="16",...} 1"). Set replaces the series.
/// </summary>
public sealed class InfoMetric : Metric
{
    private volatile byte[]? _prefix;

    internal InfoMetric(string name, string help, string[] labelNames)
        : base(name, help, "gauge", labelNames) { }

    /// <summary>Sets the label values (in <see cref="Metric.LabelNames"/> order); until called nothing is exposed.</summary>
    public void Set(params string[] labelValues)
    {
        ArgumentNullException.ThrowIfNull(labelValues);
        if (labelValues.Length != LabelNames.Count)
            throw new ArgumentException($"Info metric '{Name}' has {LabelNames.Count} label(s) but got {labelValues.Length} value(s).", nameof(labelValues));
        foreach (var v in labelValues) ArgumentNullException.ThrowIfNull(v, nameof(labelValues));
        _prefix = Exposition.SeriesPrefix(Name, LabelNames, labelValues);
    }

    internal override void WriteTo(IBufferWriter<byte> writer)
    {
        writer.Write(HeaderBytes);
        if (_prefix is { } prefix)
            Exposition.WriteSample(writer, prefix, 1L);
    }
}
